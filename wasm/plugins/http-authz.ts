// Sample plugin: authorizes each request with an http_call to an authorization Service and waits
// for its answer (the request is paused meanwhile). A 2xx answer lets the request through, with
// `x-authz-checked-by` naming the pod that decided; anything else (or a failed call) becomes a
// local reply with the authorizer's status (403 when the call failed).
// pluginConfig: {"cluster": "outbound|9080||authz.default.svc.cluster.local",
//                "authority": "authz", "forwardHeader": "x-echo-status", "timeoutMs": "2000"}
// `forwardHeader` is copied from the client's request to the check call and removed upstream.
import { Action, BufferType, HttpContext, LogLevel, MapType, RootContext, StreamType, continueStream, getBuffer, getHeader, httpCall, log, pluginConfiguration, registerRootContext, removeHeader, replaceHeader, sendLocalResponse, setEffectiveContext } from "../sdk/index";
import { JsonConfig } from "./json-config";
export * from "../sdk/exports";

class AuthzRoot extends RootContext {
  config: JsonConfig = new JsonConfig("");
  pending: Map<u32, u32> = new Map<u32, u32>();

  onConfigure(_size: u32): bool {
    this.config = new JsonConfig(pluginConfiguration());
    return this.config.get("cluster", "").length > 0;
  }

  createHttpContext(id: u32): HttpContext {
    return new AuthzStream(id, this);
  }

  onHttpCallResponse(token: u32, headers: u32, bodySize: u32, _trailers: u32): void {
    if (!this.pending.has(token)) return;
    const stream = this.pending.get(token);
    this.pending.delete(token);
    let status = "403";
    let by = "";
    if (headers > 0) {
      const s = getHeader(MapType.HttpCallResponseHeaders, ":status");
      if (s != null) status = s;
      const pod = getHeader(MapType.HttpCallResponseHeaders, "x-echo-pod");
      if (pod != null) by = pod;
    }
    const body = String.UTF8.decode(getBuffer(BufferType.HttpCallResponseBody, 0, bodySize));
    setEffectiveContext(stream);
    if (status.startsWith("2")) {
      replaceHeader(MapType.RequestHeaders, "x-authz-checked-by", by);
      continueStream(StreamType.Request);
    } else {
      log(LogLevel.Info, "denied with " + status);
      sendLocalResponse(<u32>parseInt(status), "wasm_authz_denied", headers > 0 ? "denied by authz\n" : "authz unavailable\n", [["x-authz-status", status]]);
      if (body.length < 0) log(LogLevel.Debug, body);
    }
  }
}

class AuthzStream extends HttpContext {
  onRequestHeaders(_n: u32, _eos: bool): Action {
    const root = this.root as AuthzRoot;
    const cfg = root.config;
    const path = getHeader(MapType.RequestHeaders, ":path");
    const headers: string[][] = [[":method", "GET"], [":path", path == null ? "/" : path], [":authority", cfg.get("authority", "authz")]];
    const fwd = cfg.get("forwardHeader", "");
    if (fwd.length > 0) {
      const v = getHeader(MapType.RequestHeaders, fwd);
      if (v != null) headers.push([fwd, v]);
      removeHeader(MapType.RequestHeaders, fwd);
    }
    const token = httpCall(cfg.get("cluster", ""), headers, "", <u32>parseInt(cfg.get("timeoutMs", "2000")));
    if (token == 0) {
      sendLocalResponse(500, "wasm_authz_call_failed", "authz call refused\n", []);
      return Action.Pause;
    }
    root.pending.set(token, this.id);
    return Action.Pause;
  }
}

registerRootContext((id: u32): RootContext => new AuthzRoot(id));
