/**
 * The plugin the wasm-host fuzz target drives (wasm-host-fuzz.ts): every host function with its
 * ABI signature and argument roles, and the generated module text that imports them all and
 * exports one trampoline per import, a switchable allocator and a normal `on_request_headers`.
 */

/**
 * Argument roles: p pointer, n length, t map/buffer/stream type or id, v any i32, I i64.
 * `proc_exit` and `abort` are left out: they end the plugin by design.
 */
const ENV: Readonly<Record<string, string>> = {
  proxy_log: 'tpn',
  proxy_get_log_level: 'p',
  proxy_get_current_time_nanoseconds: 'p',
  proxy_set_tick_period_milliseconds: 'v',
  proxy_set_effective_context: 't',
  proxy_done: '',
  proxy_get_buffer_bytes: 'tvnpp',
  proxy_get_buffer_status: 'tpp',
  proxy_set_buffer_bytes: 'tvnpn',
  proxy_get_header_map_pairs: 'tpp',
  proxy_set_header_map_pairs: 'tpn',
  proxy_get_header_map_size: 'tp',
  proxy_get_header_map_value: 'tpnpp',
  proxy_add_header_map_value: 'tpnpn',
  proxy_replace_header_map_value: 'tpnpn',
  proxy_remove_header_map_value: 'tpn',
  proxy_continue_stream: 't',
  proxy_close_stream: 't',
  proxy_continue_request: '',
  proxy_continue_response: '',
  proxy_clear_route_cache: '',
  proxy_send_local_response: 'vpnpnpnv',
  proxy_http_call: 'pnpnpnpnvp',
  proxy_get_status: 'ppp',
  proxy_get_property: 'pnpp',
  proxy_set_property: 'pnpn',
  proxy_call_foreign_function: 'pnpnpp',
  proxy_grpc_call: 'pnpnpnpnpnvp',
  proxy_get_shared_data: 'pnppp',
  proxy_set_shared_data: 'pnpnv',
  proxy_register_shared_queue: 'pnp',
  proxy_resolve_shared_queue: 'pnpnp',
  proxy_enqueue_shared_queue: 'tpn',
  proxy_dequeue_shared_queue: 'tpp',
  proxy_define_metric: 'tpnp',
  proxy_increment_metric: 'tI',
  proxy_record_metric: 'tI',
  proxy_get_metric: 'tp',
  emscripten_notify_memory_growth: 'v',
  pthread_equal: 'vv',
};
const WASI: Readonly<Record<string, string>> = {
  fd_write: 'tpnp',
  fd_fdstat_get: 'tp',
  environ_sizes_get: 'pp',
  environ_get: 'pp',
  args_sizes_get: 'pp',
  args_get: 'pp',
  clock_time_get: 'tIp',
  clock_res_get: 'tp',
  random_get: 'pn',
  fd_read: 'tpnp',
  fd_seek: 'tIvp',
  fd_close: 't',
  poll_oneoff: 'ppnp',
  sched_yield: '',
};
export const VOID = new Set(['emscripten_notify_memory_growth']);

export interface HostCall {
  readonly module: 'env' | 'wasi_snapshot_preview1';
  readonly name: string;
  readonly roles: string;
}
export const CALLS: readonly HostCall[] = [
  ...Object.entries(ENV).map(([name, roles]) => ({ module: 'env' as const, name, roles })),
  ...Object.entries(WASI).map(([name, roles]) => ({ module: 'wasi_snapshot_preview1' as const, name, roles })),
];

/** Where the fuzzer lays out its inputs; the allocator's heap is above it. */
export const DATA_START = 1024;
export const DATA_END = 32 * 1024;
export const HEAP_START = 32 * 1024;
export const FUZZED_NAME = 'x-fuzzed';

export function moduleText(): string {
  const t = (r: string): string => (r === 'I' ? 'i64' : 'i32');
  const lines: string[] = ['(module'];
  CALLS.forEach((c, i) => {
    const params = [...c.roles].map(t).join(' ');
    const result = VOID.has(c.name) ? '' : '(result i32)';
    lines.push(`  (import "${c.module}" "${c.name}" (func $h${i} (param ${params}) ${result}))`);
  });
  const add = CALLS.findIndex((c) => c.name === 'proxy_add_header_map_value');
  // "x-fuzzed" as a little-endian i64, stored by on_request_headers so whatever the fuzzer wrote
  // over the plugin's memory, a fresh request always gets the same header.
  const nameWord = Buffer.from(FUZZED_NAME).readBigInt64LE(0);
  lines.push(`  (memory (export "memory") 1 8)
  (global $mode (mut i32) (i32.const 0))
  (global $fixed (mut i32) (i32.const 0))
  (global $heap (mut i32) (i32.const ${HEAP_START}))
  (global $ctx (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "fuzz_set_alloc") (param i32 i32) (global.set $mode (local.get 0)) (global.set $fixed (local.get 1)))
  (func (export "fuzz_last_context") (result i32) (global.get $ctx))
  (func (export "malloc") (param $n i32) (result i32) (local $p i32)
    (if (i32.eq (global.get $mode) (i32.const 1)) (then (return (global.get $fixed))))
    (if (i32.eq (global.get $mode) (i32.const 2)) (then (drop (memory.grow (i32.const 1)))))
    ;; bump allocator that wraps around (old blocks are reused: this plugin never frees)
    (if (i32.gt_u (local.get $n) (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const ${HEAP_START})))
      (then (return (i32.const 0))))
    (if (i32.gt_u (i32.add (global.get $heap) (local.get $n)) (i32.mul (memory.size) (i32.const 65536)))
      (then (global.set $heap (i32.const ${HEAP_START}))))
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32) (global.set $ctx (local.get 0)))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (i64.store (i32.const 16) (i64.const ${nameWord}))
    (i32.store8 (i32.const 24) (i32.const 49))
    (drop (call $h${add} (i32.const 0) (i32.const 16) (i32.const 8) (i32.const 24) (i32.const 1)))
    (i32.const 0))`);
  CALLS.forEach((c, i) => {
    const params = [...c.roles].map(t).join(' ');
    const args = [...c.roles].map((_, k) => `(local.get ${k})`).join(' ');
    const result = VOID.has(c.name) ? '' : '(result i32)';
    lines.push(`  (func (export "fuzz_${i}") (param ${params}) ${result} (call $h${i} ${args}))`);
  });
  lines.push(')');
  return lines.join('\n');
}
