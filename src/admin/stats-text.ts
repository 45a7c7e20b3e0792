/**
 * Envoy's `/stats` renderings of the process's metrics: text (`name: value` per line, sorted) and
 * `?format=json` (`{"stats":[{"name","value"}]}`). Labels are folded into the name as
 * `name{k="v",…}` so every series stays one line; histogram buckets are left to
 * `/stats/prometheus`, their `_count` and `_sum` are listed.
 */
export interface StatsMetric {
  readonly name: string;
  readonly values: readonly { readonly value: number; readonly labels: Readonly<Record<string, string | number | undefined>>; readonly metricName?: string }[];
}

interface Stat {
  readonly name: string;
  readonly value: number;
}

function stats(metrics: readonly StatsMetric[]): Stat[] {
  const out: Stat[] = [];
  for (const m of metrics) {
    for (const v of m.values) {
      const name = v.metricName ?? m.name;
      if (name.endsWith('_bucket')) continue;
      const labels = Object.entries(v.labels)
        .filter(([k, x]) => x !== undefined && k !== 'le')
        .map(([k, x]) => `${k}="${String(x)}"`)
        .join(',');
      out.push({ name: labels ? `${name}{${labels}}` : name, value: v.value });
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function renderStatsText(metrics: readonly StatsMetric[]): string {
  return stats(metrics)
    .map((s) => `${s.name}: ${s.value}\n`)
    .join('');
}

export function renderStatsJson(metrics: readonly StatsMetric[]): { readonly stats: readonly Stat[] } {
  return { stats: stats(metrics) };
}
