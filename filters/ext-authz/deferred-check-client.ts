/**
 * A check client whose implementation is loaded when the first provider of its kind is
 * configured. The gRPC client pulls in @grpc/grpc-js and @grpc/proto-loader (~15 MiB of RSS and a
 * few hundred ms): a waypoint without a CUSTOM policy should not pay for them. Loading starts at
 * config time; a check that arrives before it finished waits for it.
 */
import type { CheckClient, CheckDecision, CheckInput } from './check-client.js';

export class DeferredCheckClient implements CheckClient {
  private inner: CheckClient | undefined;
  private closed = false;
  private readonly loading: Promise<CheckClient>;

  constructor(load: () => Promise<CheckClient>) {
    this.loading = load().then((c) => {
      this.inner = c;
      if (this.closed) void c.close();
      return c;
    });
    // A load failure is reported to each check (below); never an unhandled rejection.
    this.loading.catch(() => undefined);
  }

  async check(input: CheckInput): Promise<CheckDecision> {
    if (this.inner) return this.inner.check(input);
    try {
      return await (await this.loading).check(input);
    } catch (err) {
      return { kind: 'error', reason: `check client unavailable: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.inner) await this.inner.close();
  }
}
