/**
 * How every long-running role (ztunnel, waypoint, app, up) starts and stops, written once:
 * 1. start the component; 2. tell the parent (IPC `ready`) and flip readiness;
 * 3. on SIGTERM/SIGINT or a parent's `drain` message: readiness goes 503 first (so nothing new is
 *    sent), then `close(drainMs)` drains in-flight work, then the process exits 0;
 * 4. a second signal forces an immediate exit (a repeated drain request or the parent going away
 *    while draining does not).
 */
export interface Closable {
  close(deadlineMs: number): Promise<void>;
}

export interface LifecycleOptions {
  readonly name: string;
  readonly drainMs: number;
  /** Called first on shutdown (e.g. readiness → 503). */
  readonly onDrainStart?: () => void;
  readonly log?: (line: string) => void;
}

export type ParentMessage = { readonly type: 'ready'; readonly name: string } | { readonly type: 'drain' };

export function notifyReady(name: string): void {
  if (process.send) process.send({ type: 'ready', name } satisfies ParentMessage);
}

export function runUntilSignal(component: Closable, opts: LifecycleOptions): Promise<void> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (why: string, force = true): void => {
      if (stopping) {
        if (!force) return;
        log(`${opts.name}: ${why} again, exiting now`);
        process.exit(1);
      }
      stopping = true;
      log(`${opts.name}: ${why}, draining (up to ${opts.drainMs} ms)`);
      opts.onDrainStart?.();
      component
        .close(opts.drainMs)
        .catch((err: unknown) => log(`${opts.name}: error while closing: ${String(err)}`))
        .finally(() => {
          log(`${opts.name}: stopped`);
          resolve();
        });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'drain') stop('drain requested', false);
    });
    // The runner going away (IPC channel closed) means nobody will ever stop us: drain and exit.
    process.on('disconnect', () => stop('parent exited', false));
  });
}
