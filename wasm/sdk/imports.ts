// The host functions this SDK uses (proxy-wasm ABI 0.2.1, module "env"). Every one returns a
// proxy_status_t; results come back through out-pointers.

@external("env", "proxy_log")
export declare function proxy_log(level: i32, ptr: usize, len: usize): u32;
@external("env", "proxy_get_log_level")
export declare function proxy_get_log_level(ret: usize): u32;
@external("env", "proxy_set_tick_period_milliseconds")
export declare function proxy_set_tick_period_milliseconds(ms: u32): u32;
@external("env", "proxy_set_effective_context")
export declare function proxy_set_effective_context(id: u32): u32;
@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(type: u32, start: u32, max: u32, retPtr: usize, retSize: usize): u32;
@external("env", "proxy_get_buffer_status")
export declare function proxy_get_buffer_status(type: u32, retSize: usize, retFlags: usize): u32;
@external("env", "proxy_set_buffer_bytes")
export declare function proxy_set_buffer_bytes(type: u32, start: u32, size: u32, ptr: usize, len: usize): u32;
@external("env", "proxy_get_header_map_pairs")
export declare function proxy_get_header_map_pairs(map: u32, retPtr: usize, retSize: usize): u32;
@external("env", "proxy_set_header_map_pairs")
export declare function proxy_set_header_map_pairs(map: u32, ptr: usize, size: usize): u32;
@external("env", "proxy_get_header_map_value")
export declare function proxy_get_header_map_value(map: u32, kPtr: usize, kLen: usize, retPtr: usize, retSize: usize): u32;
@external("env", "proxy_add_header_map_value")
export declare function proxy_add_header_map_value(map: u32, kPtr: usize, kLen: usize, vPtr: usize, vLen: usize): u32;
@external("env", "proxy_replace_header_map_value")
export declare function proxy_replace_header_map_value(map: u32, kPtr: usize, kLen: usize, vPtr: usize, vLen: usize): u32;
@external("env", "proxy_remove_header_map_value")
export declare function proxy_remove_header_map_value(map: u32, kPtr: usize, kLen: usize): u32;
@external("env", "proxy_continue_stream")
export declare function proxy_continue_stream(type: u32): u32;
@external("env", "proxy_close_stream")
export declare function proxy_close_stream(type: u32): u32;
@external("env", "proxy_send_local_response")
export declare function proxy_send_local_response(status: u32, dPtr: usize, dLen: usize, bPtr: usize, bLen: usize, hPtr: usize, hLen: usize, grpc: i32): u32;
@external("env", "proxy_http_call")
export declare function proxy_http_call(uPtr: usize, uLen: usize, hPtr: usize, hLen: usize, bPtr: usize, bLen: usize, tPtr: usize, tLen: usize, timeout: u32, retToken: usize): u32;
@external("env", "proxy_get_shared_data")
export declare function proxy_get_shared_data(kPtr: usize, kLen: usize, retPtr: usize, retSize: usize, retCas: usize): u32;
@external("env", "proxy_set_shared_data")
export declare function proxy_set_shared_data(kPtr: usize, kLen: usize, vPtr: usize, vLen: usize, cas: u32): u32;
@external("env", "proxy_define_metric")
export declare function proxy_define_metric(type: u32, nPtr: usize, nLen: usize, retId: usize): u32;
@external("env", "proxy_increment_metric")
export declare function proxy_increment_metric(id: u32, delta: i64): u32;
@external("env", "proxy_record_metric")
export declare function proxy_record_metric(id: u32, value: u64): u32;
@external("env", "proxy_get_metric")
export declare function proxy_get_metric(id: u32, ret: usize): u32;
@external("env", "proxy_get_property")
export declare function proxy_get_property(pPtr: usize, pLen: usize, retPtr: usize, retSize: usize): u32;
