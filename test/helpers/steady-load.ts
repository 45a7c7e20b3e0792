/**
 * A client under steady load: `concurrency` loops, each sending one request after another, until
 * stopped. Counts what succeeded and what failed (with the first few failure reasons), so drain,
 * reload and rotation tests can assert "zero failed" and report how many were sent.
 */

export interface LoadResult {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  /** The first failure reasons (status or error message), for the assertion message. */
  readonly failures: readonly string[];
}

/** One request: resolves with the HTTP status (200 counts as success), rejects on a transport error. */
export type SendOne = () => Promise<number>;

const KEPT_FAILURES = 10;

export class SteadyLoad {
  private running = false;
  private loops: Promise<void>[] = [];
  private okCount = 0;
  private failedCount = 0;
  private readonly failures: string[] = [];

  constructor(
    private readonly send: SendOne,
    private readonly concurrency = 4,
    /** Pause between requests of one loop; keeps the load moderate on a shared machine. */
    private readonly pauseMs = 2,
  ) {}

  get ok(): number {
    return this.okCount;
  }

  get failed(): number {
    return this.failedCount;
  }

  start(): this {
    this.running = true;
    for (let i = 0; i < this.concurrency; i++) this.loops.push(this.loop());
    return this;
  }

  async stop(): Promise<LoadResult> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
    return this.result();
  }

  result(): LoadResult {
    return { sent: this.okCount + this.failedCount, ok: this.okCount, failed: this.failedCount, failures: [...this.failures] };
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        const status = await this.send();
        if (status === 200) this.okCount++;
        else this.fail(`status ${status}`);
      } catch (err) {
        this.fail(err instanceof Error ? err.message : String(err));
      }
      if (this.pauseMs > 0) await new Promise((r) => setTimeout(r, this.pauseMs));
    }
  }

  private fail(reason: string): void {
    this.failedCount++;
    if (this.failures.length < KEPT_FAILURES) this.failures.push(reason);
  }
}

/** Runs `body` while a steady load runs; the load is stopped however `body` ends. */
export async function underLoad(send: SendOne, body: (load: SteadyLoad) => Promise<void>, concurrency = 4): Promise<LoadResult> {
  const load = new SteadyLoad(send, concurrency).start();
  try {
    await body(load);
  } finally {
    await load.stop();
  }
  return load.result();
}
