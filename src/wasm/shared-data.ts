/**
 * State shared by every plugin VM of one proxy (Envoy: across plugins and worker threads), scoped
 * per `vm_id` (empty under Istio, so all WasmPlugins of a waypoint share one space). Shared data
 * is a key/value store with compare-and-swap: each write bumps the key's cas, starting at 1, and a
 * write with a non-zero cas that differs is refused. Shared queues are named per vm_id; their
 * owner (the root context that registered them) is told when something is enqueued.
 */
import { Status } from './abi.js';

interface Entry {
  value: Buffer;
  cas: number;
}

export interface QueueOwner {
  /** Called (asynchronously) after an enqueue, as `proxy_on_queue_ready(root, id)`. */
  queueReady(rootId: number, queueId: number): void;
}

interface Queue {
  readonly vmId: string;
  readonly name: string;
  owner: QueueOwner;
  rootId: number;
  readonly items: Buffer[];
  notifyScheduled: boolean;
}

/** Bounds so a plugin cannot grow the proxy's memory without limit. */
const MAX_QUEUE_ITEMS = 10_000;

export class SharedState {
  private readonly data = new Map<string, Entry>();
  private readonly queues = new Map<number, Queue>();
  private readonly queueIds = new Map<string, number>();
  private nextQueueId = 1;

  private static key(vmId: string, key: string): string {
    return `${vmId}\u0000${key}`;
  }

  get(vmId: string, key: string): { readonly value: Buffer; readonly cas: number } | undefined {
    return this.data.get(SharedState.key(vmId, key));
  }

  set(vmId: string, key: string, value: Buffer, cas: number): number {
    const k = SharedState.key(vmId, key);
    const e = this.data.get(k);
    if (cas !== 0 && (e === undefined || e.cas !== cas)) return Status.CAS_MISMATCH;
    if (e) {
      e.value = value;
      e.cas = e.cas >= 0xffffffff ? 1 : e.cas + 1;
    } else this.data.set(k, { value, cas: 1 });
    return Status.OK;
  }

  /** Registers (or re-registers: a rebuilt VM takes the queue over) a queue; returns its id. */
  registerQueue(vmId: string, name: string, owner: QueueOwner, rootId: number): number {
    const k = SharedState.key(vmId, name);
    const existing = this.queueIds.get(k);
    if (existing !== undefined) {
      const q = this.queues.get(existing) as Queue;
      q.owner = owner;
      q.rootId = rootId;
      return existing;
    }
    const id = this.nextQueueId++;
    this.queueIds.set(k, id);
    this.queues.set(id, { vmId, name, owner, rootId, items: [], notifyScheduled: false });
    return id;
  }

  resolveQueue(vmId: string, name: string): number | undefined {
    return this.queueIds.get(SharedState.key(vmId, name));
  }

  enqueue(id: number, value: Buffer): number {
    const q = this.queues.get(id);
    if (!q) return Status.NOT_FOUND;
    if (q.items.length >= MAX_QUEUE_ITEMS) return Status.INTERNAL_FAILURE;
    q.items.push(value);
    if (!q.notifyScheduled) {
      q.notifyScheduled = true;
      // Never call into a plugin from inside another plugin's host call.
      setImmediate(() => {
        q.notifyScheduled = false;
        if (q.items.length > 0) q.owner.queueReady(q.rootId, id);
      });
    }
    return Status.OK;
  }

  dequeue(id: number): Buffer | number {
    const q = this.queues.get(id);
    if (!q) return Status.NOT_FOUND;
    const v = q.items.shift();
    return v ?? Status.EMPTY;
  }
}
