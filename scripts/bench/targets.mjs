// The targets table of issue 18 ("Performance II"), computed from one bench run. Ratios are taken
// per round (both sides measured in the same round, so under the same load) and reported as the
// median over rounds with their spread; met/missed is decided on the median, and "by how much"
// says how far the median is from the limit.
import { summary } from './rounds.mjs';

const HAPROXY = 'HAProxy (plain L7 proxy)';
const L4 = 'L4 (ztunnel → ztunnel)';
export const NODE_FLOOR_ROW = 'Node floor (bare net relay)';

/** Per-round values of fn(roundOfA, roundOfB) for two rows measured in the same rounds. */
function perRound(a, b, fn) {
  const out = [];
  const ra = roundsOf(a);
  const rb = roundsOf(b);
  const n = Math.min(ra.length, rb.length);
  for (let i = 0; i < n; i++) {
    const v = fn(ra[i], rb[i]);
    if (typeof v === 'number' && Number.isFinite(v)) out.push(v);
  }
  return out;
}

/** A row's rounds; a results.json written before rounds existed holds one measurement per row. */
const roundsOf = (row) => (row ? (row.rounds ?? [row]) : []);

const us = (round, proc) => round?.saturationProcs?.[proc]?.usPerRequest;

/** `≤ limit`: met when the median is at most the limit. `≥ limit`: at least. */
function verdict(kind, limit, value) {
  if (value === undefined) return { met: 'not measured', by: '' };
  if (kind === '≤') {
    return value <= limit
      ? { met: 'met', by: `${Math.round((1 - value / limit) * 100)}% under the limit` }
      : { met: 'missed', by: `${(value / limit).toFixed(2)}× the limit` };
  }
  return value >= limit
    ? { met: 'met', by: `${Math.round((value / limit - 1) * 100)}% over the limit` }
    : { met: 'missed', by: `${(limit / value).toFixed(2)}× short (${Math.round((value / limit) * 100)}% of it)` };
}

const fmt = (x, d, unit) => (x === undefined ? '–' : `${x.toFixed(d)}${unit}`);
const range = (s, d, unit) => (s?.spread && s.n > 1 ? `${s.spread[0].toFixed(d)}–${s.spread[1].toFixed(d)}${unit}` : '');

export function issue18Targets(res) {
  const small = res.small ?? [];
  const h2 = res.h2 ?? [];
  const get = (list, name) => list.find((r) => r.scenario === name);
  const hap = get(small, HAPROXY);
  const wp = get(small, 'waypoint');
  const full = get(small, 'waypoint + features');
  const l4 = get(small, L4);
  const h2wp = get(h2, 'h2 waypoint');
  const bulk = (name) => (res.bulk ?? []).find((b) => b.direction === 'down' && b.scenario.startsWith(name));
  const rows = [];
  const add = (what, kind, limit, unit, s, digits, note = '') => {
    const v = verdict(kind, limit, s.median);
    rows.push({ what, target: `${kind} ${limit}${unit}`, value: fmt(s.median, digits, unit), spread: range(s, digits, unit), rounds: s.n, ...v, note });
  };
  const overHap = (row, proc) => summary(perRound(row, hap, (r, h) => us(r, proc) / us(h, 'haproxy')));
  add('waypoint CPU per request ÷ HAProxy\'s (wrk -c50, saturation)', '≤', 2.0, '×', overHap(wp, 'waypoint'), 2);
  add('waypoint + features (50 routes, authz, JWT, Wasm, metrics) ÷ HAProxy\'s', '≤', 3.0, '×', overHap(full, 'waypoint-full'), 2);
  const za = overHap(l4, 'ztunnel-a');
  const zb = overHap(l4, 'ztunnel-b');
  const worst = summary(perRound(l4, hap, (r, h) => Math.max(us(r, 'ztunnel-a'), us(r, 'ztunnel-b')) / us(h, 'haproxy')));
  const floor = overHap(get(small, NODE_FLOOR_ROW), 'node-relay');
  const floorNote = floor.median === undefined ? '' : `; a bare Node relay (no TLS, no HTTP/2) ${fmt(floor.median, 2, '×')}`;
  add('each ztunnel (L4) ÷ HAProxy\'s (the costlier of the two per round)', '≤', 0.5, '×', worst, 2, `client ${fmt(za.median, 2, '×')}, destination ${fmt(zb.median, 2, '×')}${floorNote}`);
  const direct = bulk('direct');
  const bulkRatio = (row) => summary(perRound(row, direct, (r, d) => r.mibPerSecond / d.mibPerSecond));
  const bulkNote = (row) => (row && direct ? `${row.mibPerSecond} vs ${direct.mibPerSecond} MiB/s (medians)` : '');
  const floorBulk = bulkRatio(bulk(NODE_FLOOR_ROW));
  const floorBulkNote = floorBulk.median === undefined ? '' : `; a bare Node relay (no TLS, no HTTP/2) ${fmt(floorBulk.median, 2, '×')}`;
  add(`${res.bulkMiB ?? 1024} MiB through L4 ÷ direct (download)`, '≥', 0.5, '×', bulkRatio(bulk('L4')), 2, bulkNote(bulk('L4')) + floorBulkNote);
  add(`${res.bulkMiB ?? 1024} MiB through the waypoint path ÷ direct (download)`, '≥', 0.3, '×', bulkRatio(bulk('waypoint')), 2, bulkNote(bulk('waypoint')));
  const rest = res.restRss ?? {};
  const roles = Object.entries(rest).filter(([n]) => n.startsWith('ztunnel') || n.startsWith('waypoint'));
  const worstRest = roles.length ? Math.max(...roles.map(([, v]) => v)) : undefined;
  add('RSS at rest, per role (the largest role)', '≤', 50, ' MiB', { median: worstRest, n: 1 }, 0, roles.map(([n, v]) => `${n} ${v}`).join(', '));
  const rssFixed = summary(roundsOf(wp).map((r) => r.fixedProcs?.waypoint?.rssPeakMiB));
  const fresh = res.freshFixed?.rssPeakMiB;
  add(`RSS at ${wp?.rate ?? 1000} req/s, waypoint (peak, fresh process: before any saturation or bulk row)`, '≤', 80, ' MiB', { median: fresh, n: fresh === undefined ? 0 : 1 }, 0);
  add(`RSS at ${wp?.rate ?? 1000} req/s, waypoint (peak, after the saturation and bulk rows in the same process)`, '≤', 80, ' MiB', rssFixed, 0);
  // HTTP/2 rows run h2load against the echo app, HTTP/1.1 rows wrk against nginx; both are the
  // waypoint's own CPU per request in the same round.
  const h2Over = summary(perRound(h2wp, wp, (h, w) => us(h, 'waypoint') / us(w, 'waypoint')));
  add('HTTP/2 through the waypoint, CPU per request ÷ the HTTP/1.1 row\'s', '≤', 1.5, '×', h2Over, 2, h2wp ? `${h2wp.saturationProcs?.waypoint?.usPerRequest} vs ${wp?.saturationProcs?.waypoint?.usPerRequest} µs (medians)` : '');
  return rows;
}

export function issue18Markdown(res) {
  let md = `## Targets (issue 18; medians over ${res.rounds ?? 1} round(s), per-round ratios, spread = min–max over rounds)\n\n| row | goal | median | spread | | by how much | note |\n|---|---|---:|---|---|---|---|\n`;
  for (const t of issue18Targets(res)) md += `| ${t.what} | ${t.target} | ${t.value} | ${t.spread} | ${t.met} | ${t.by} | ${t.note} |\n`;
  return md;
}
