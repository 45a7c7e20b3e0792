/**
 * Runs the local mesh's processes: starts each role as a child process of the CLI, prefixes its
 * output with its name, restarts it with backoff if it dies, and drains them in reverse start
 * order on shutdown (waypoints first, so their in-flight requests still find ztunnels and apps).
 */
import type { ChildProcess } from 'node:child_process';
const { fork, spawn } = process.getBuiltinModule('node:child_process');
const http = process.getBuiltinModule('node:http');
import { DATA_PLANE_NODE_FLAGS } from './role-node-flags.js';
const readline = process.getBuiltinModule('node:readline');
import type { Readable } from 'node:stream';
import { ROLE_ORDER, type ProcessSpec } from './desired-processes.js';

export interface SupervisorOptions {
  readonly entry: string;
  readonly drainMs: number;
  readonly out: (line: string) => void;
  /** Extra environment for children. */
  readonly env?: Readonly<Record<string, string>>;
}

interface Running {
  spec: ProcessSpec;
  child: ChildProcess;
  ready: boolean;
  stopping: boolean;
  restarts: number;
  exited: Promise<void>;
  restartTimer?: NodeJS.Timeout;
}

const MAX_BACKOFF_MS = 30_000;

export class Supervisor {
  private readonly running = new Map<string, Running>();
  private readyWaiters: (() => void)[] = [];
  private closed = false;

  constructor(private readonly opts: SupervisorOptions) {}

  /** Starts what is missing, stops what is no longer wanted, restarts what changed. */
  async reconcile(specs: readonly ProcessSpec[]): Promise<void> {
    const wanted = new Map(specs.map((s) => [s.name, s]));
    const stale = [...this.running.values()].filter((r) => {
      const w = wanted.get(r.spec.name);
      return !w || specKey(w) !== specKey(r.spec);
    });
    await Promise.all(stale.map((r) => this.stop(r)));
    for (const spec of specs) if (!this.running.has(spec.name)) this.start(spec, 0);
  }

  /** Resolves when every running process has said it is ready, or rejects after `timeoutMs`. */
  waitReady(timeoutMs: number): Promise<void> {
    if (this.allReady()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const late = [...this.running.values()].filter((r) => !r.ready).map((r) => r.spec.name);
        reject(new Error(`not ready after ${timeoutMs} ms: ${late.join(', ')}`));
      }, timeoutMs);
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Drains every process, in reverse role order, each within the drain deadline. */
  async close(): Promise<void> {
    this.closed = true;
    for (const role of [...ROLE_ORDER].reverse()) {
      await Promise.all([...this.running.values()].filter((r) => r.spec.role === role).map((r) => this.stop(r)));
    }
  }

  private allReady(): boolean {
    return [...this.running.values()].every((r) => r.ready);
  }

  private start(spec: ProcessSpec, restarts: number): void {
    // Data-plane roles get their V8 flags (their --concurrency workers inherit them).
    const nodeArgs = spec.role === 'app' ? process.execArgv : [...process.execArgv, ...DATA_PLANE_NODE_FLAGS];
    // `ip netns exec` execs the program in place: same pid, same inherited IPC channel.
    const inNetns = (argv: readonly string[]): string[] => (spec.netns ? ['netns', 'exec', spec.netns, ...argv] : [...argv]);
    const child = spec.external
      ? spawn(spec.netns ? 'ip' : spec.external.command, inNetns(spec.netns ? [spec.external.command, ...spec.args] : spec.args), {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        env: { ...process.env, ...this.opts.env, ...spec.external.env },
      })
      : fork(this.opts.entry, [...spec.args], {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        // Own process group: a terminal's Ctrl-C reaches only the supervisor, which drains the
        // children in order. A child whose supervisor dies sees its IPC channel close and drains.
        detached: true,
        env: { ...process.env, ...this.opts.env },
        ...(spec.netns ? { execPath: 'ip', execArgv: inNetns([process.execPath, ...nodeArgs]) } : { execArgv: nodeArgs }),
      });
    let onExit!: () => void;
    const exited = new Promise<void>((r) => (onExit = r));
    const run: Running = { spec, child, ready: false, stopping: false, restarts, exited };
    this.running.set(spec.name, run);
    this.pipeLines(spec.name, child.stdout);
    this.pipeLines(spec.name, child.stderr);
    const markReady = (): void => {
      run.ready = true;
      run.restarts = 0;
      if (this.allReady()) {
        const waiters = this.readyWaiters;
        this.readyWaiters = [];
        for (const w of waiters) w();
      }
    };
    child.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'ready') markReady();
    });
    if (spec.external) void pollReady(spec.external.readyUrl, () => this.running.get(spec.name) === run && !run.stopping && child.exitCode === null).then((ok) => ok && markReady());
    child.on('error', (err) => this.opts.out(`[${spec.name}] failed to start: ${err.message}`));
    child.on('exit', (code, signal) => {
      onExit();
      if (run.stopping || this.closed) {
        if (this.running.get(spec.name) === run) this.running.delete(spec.name);
        return;
      }
      const backoff = Math.min(1000 * 2 ** run.restarts, MAX_BACKOFF_MS);
      this.opts.out(`[${spec.name}] exited (${signal ?? `code ${code}`}); restarting in ${backoff} ms`);
      run.ready = false;
      run.restartTimer = setTimeout(() => {
        if (this.running.get(spec.name) === run && !this.closed) this.start(spec, run.restarts + 1);
      }, backoff);
    });
  }

  private async stop(run: Running): Promise<void> {
    run.stopping = true;
    if (run.restartTimer) clearTimeout(run.restartTimer);
    const { child } = run;
    if (child.exitCode === null && child.signalCode === null) {
      // Our roles drain on an IPC message; Istio's ztunnel on SIGTERM.
      if (child.connected) child.send({ type: 'drain' });
      else child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), this.opts.drainMs + 2000);
      await run.exited;
      clearTimeout(force);
    }
    if (this.running.get(run.spec.name) === run) this.running.delete(run.spec.name);
  }

  private pipeLines(name: string, stream: Readable | null): void {
    if (!stream) return;
    const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
    rl.on('line', (line) => this.opts.out(`[${name}] ${line}`));
  }
}

/** What makes two specs the same process: a change restarts it. */
function specKey(s: ProcessSpec): string {
  return [s.netns ?? '', s.external ? JSON.stringify(s.external) : '', ...s.args].join('\0');
}

/** Polls a readiness URL (e.g. Istio ztunnel's :15021/healthz/ready) until 200, while `alive()`. */
async function pollReady(url: string, alive: () => boolean): Promise<boolean> {
  while (alive()) {
    const status = await new Promise<number>((resolve) => {
      const req = http.get(url, { timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(0));
    });
    if (status === 200) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
