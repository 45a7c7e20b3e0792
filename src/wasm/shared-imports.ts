/**
 * Host functions for state that outlives one callback: shared data (with CAS) and shared queues
 * across every plugin VM of the proxy, and plugin-defined metrics.
 */
import { Status } from './abi.js';
import type { PluginVm } from './plugin-vm.js';

type HostFn = (...args: never[]) => number;

export function sharedImports(vm: PluginVm): Record<string, HostFn> {
  const m = vm.memory;
  const shared = vm.opts.shared;
  const metrics = vm.opts.metrics;
  const vmId = vm.opts.vmId;
  return {
    proxy_get_shared_data(kPtr: number, kLen: number, ptrPtr: number, sizePtr: number, casPtr: number): number {
      const key = m.readString(kPtr, kLen);
      if (key === undefined) return Status.INVALID_MEMORY_ACCESS;
      const e = shared.get(vmId, key);
      if (!e) return Status.NOT_FOUND;
      if (!m.writeU32(casPtr, e.cas)) return Status.INVALID_MEMORY_ACCESS;
      return m.copyOut(e.value, ptrPtr, sizePtr);
    },
    proxy_set_shared_data(kPtr: number, kLen: number, vPtr: number, vLen: number, cas: number): number {
      const key = m.readString(kPtr, kLen);
      const value = m.read(vPtr, vLen);
      if (key === undefined || !value) return Status.INVALID_MEMORY_ACCESS;
      return shared.set(vmId, key, value, cas >>> 0);
    },
    proxy_register_shared_queue(nPtr: number, nLen: number, idPtr: number): number {
      const name = m.readString(nPtr, nLen);
      if (name === undefined) return Status.INVALID_MEMORY_ACCESS;
      const id = shared.registerQueue(vmId, name, vm, vm.rootContextId);
      return m.writeU32(idPtr, id) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_resolve_shared_queue(vPtr: number, vLen: number, nPtr: number, nLen: number, idPtr: number): number {
      const queueVm = m.readString(vPtr, vLen);
      const name = m.readString(nPtr, nLen);
      if (queueVm === undefined || name === undefined) return Status.INVALID_MEMORY_ACCESS;
      const id = shared.resolveQueue(queueVm, name);
      if (id === undefined) return Status.NOT_FOUND;
      return m.writeU32(idPtr, id) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_enqueue_shared_queue(id: number, vPtr: number, vLen: number): number {
      const value = m.read(vPtr, vLen);
      if (!value) return Status.INVALID_MEMORY_ACCESS;
      return shared.enqueue(id, value);
    },
    proxy_dequeue_shared_queue(id: number, ptrPtr: number, sizePtr: number): number {
      const v = shared.dequeue(id);
      if (typeof v === 'number') return v;
      return m.copyOut(v, ptrPtr, sizePtr);
    },

    proxy_define_metric(type: number, nPtr: number, nLen: number, idPtr: number): number {
      const name = m.readString(nPtr, nLen);
      if (name === undefined) return Status.INVALID_MEMORY_ACCESS;
      const id = metrics.define(type, name);
      if (id === undefined) return Status.BAD_ARGUMENT;
      return m.writeU32(idPtr, id) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_increment_metric: (id: number, delta: bigint): number => metrics.increment(id, BigInt(delta)),
    proxy_record_metric: (id: number, value: bigint): number => metrics.record(id, BigInt(value)),
    proxy_get_metric(id: number, retPtr: number): number {
      const v = metrics.get(id);
      if (typeof v === 'number') return v;
      return m.writeU64(retPtr, v) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
  };
}
