/**
 * Timing loop for micro-benchmarks (the preamble's contract: one JSON line per result on stdout,
 * `{"bench","metric","unit","value"}`). Warms up, then runs batches until `minMs` of samples and
 * reports the median batch's ns/op, which is steadier than the mean on a shared machine.
 */
export interface MicroResult {
  readonly bench: string;
  readonly metric: string;
  readonly unit: 'ns/op' | 'req/s' | 'us' | 'MB';
  readonly value: number;
}

/** A sink the optimiser cannot see through, so measured work is not dead code. */
export let blackhole: unknown;

export function consume(v: unknown): void {
  blackhole = v;
}

export function nsPerOp(fn: () => unknown, opts: { readonly batch?: number; readonly minMs?: number; readonly warmupMs?: number } = {}): number {
  const batch = opts.batch ?? 1000;
  const warmEnd = performance.now() + (opts.warmupMs ?? 500);
  while (performance.now() < warmEnd) for (let i = 0; i < batch; i++) consume(fn());
  const samples: number[] = [];
  const end = performance.now() + (opts.minMs ?? 1500);
  while (performance.now() < end || samples.length < 5) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) consume(fn());
    samples.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? NaN;
}

export function report(r: MicroResult): void {
  process.stdout.write(JSON.stringify({ ...r, value: Math.round(r.value * 100) / 100 }) + '\n');
}
