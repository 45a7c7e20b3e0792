// The ABI exports every plugin re-exports (`export * from "../../sdk/exports"`): the version
// marker, the allocator, and callbacks dispatching to the registered context classes.
import { Action, HttpContext, RootContext, rootFactory } from "./index";

const roots = new Map<u32, RootContext>();
const streams = new Map<u32, HttpContext>();

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return heap.alloc(size);
}

export function proxy_on_context_create(id: u32, parent: u32): void {
  if (parent == 0) {
    roots.set(id, rootFactory(id));
  } else if (roots.has(parent)) {
    streams.set(id, roots.get(parent).createHttpContext(id));
  }
}

export function proxy_on_vm_start(root: u32, size: u32): bool {
  return roots.has(root) ? roots.get(root).onVmStart(size) : true;
}

export function proxy_on_configure(root: u32, size: u32): bool {
  return roots.has(root) ? roots.get(root).onConfigure(size) : true;
}

export function proxy_on_tick(root: u32): void {
  if (roots.has(root)) roots.get(root).onTick();
}

export function proxy_on_http_call_response(root: u32, token: u32, headers: u32, bodySize: u32, trailers: u32): void {
  if (roots.has(root)) roots.get(root).onHttpCallResponse(token, headers, bodySize, trailers);
}

export function proxy_on_request_headers(id: u32, headers: u32, eos: bool): Action {
  return streams.has(id) ? streams.get(id).onRequestHeaders(headers, eos) : Action.Continue;
}

export function proxy_on_request_body(id: u32, size: u32, eos: bool): Action {
  return streams.has(id) ? streams.get(id).onRequestBody(size, eos) : Action.Continue;
}

export function proxy_on_response_headers(id: u32, headers: u32, eos: bool): Action {
  return streams.has(id) ? streams.get(id).onResponseHeaders(headers, eos) : Action.Continue;
}

export function proxy_on_response_body(id: u32, size: u32, eos: bool): Action {
  return streams.has(id) ? streams.get(id).onResponseBody(size, eos) : Action.Continue;
}

export function proxy_on_request_trailers(id: u32, trailers: u32): Action {
  return streams.has(id) ? streams.get(id).onRequestTrailers(trailers) : Action.Continue;
}

export function proxy_on_response_trailers(id: u32, trailers: u32): Action {
  return streams.has(id) ? streams.get(id).onResponseTrailers(trailers) : Action.Continue;
}

export function proxy_on_log(id: u32): void {
  if (streams.has(id)) streams.get(id).onLog();
}

export function proxy_on_done(id: u32): bool {
  return streams.has(id) ? streams.get(id).onDone() : true;
}

export function proxy_on_delete(id: u32): void {
  streams.delete(id);
  roots.delete(id);
}
