// Sample plugin: edits request and response headers and, when configured, bodies.
// pluginConfig (JSON, all optional):
//   {"requestHeader": "x-wasm-request", "responseHeader": "x-wasm-response", "value": "hello",
//    "removeRequestHeader": "x-remove-me", "appendRequestBody": "...", "appendResponseBody": "...",
//    "requestTrailer": "x-wasm-request-trailer", "responseTrailerSuffix": "-wasm",
//    "removeResponseTrailer": "x-drop-me", "addResponseTrailer": "x-wasm-added"}
// Pseudo-headers: "method", "scheme", "path", "authority" replace `:method`, `:scheme`, `:path`,
// `:authority` on request headers.
// Trailers: request trailers get `requestTrailer: <number of trailers seen>`; response trailers
// whose name starts with `x-` get the suffix appended and `x-wasm-trailers-seen: <n>` is added;
// `addResponseTrailer` is added from the last response body callback (responses without trailers).
// Also answers a local reply 418 when the request carries `x-wasm-teapot`, and resets the stream
// (`proxy_close_stream`) on request headers with `x-wasm-reset`, on response headers with
// `x-wasm-reset-response`.
import { Action, BufferType, HttpContext, LogLevel, MapType, RootContext, StreamType, addHeader, appendBuffer, closeStream, getHeaderPairs, log, pluginConfiguration, registerRootContext, removeHeader, replaceHeader, getHeader, sendLocalResponse } from "../sdk/index";
import { JsonConfig } from "./json-config";
export * from "../sdk/exports";

class HeaderEditRoot extends RootContext {
  config: JsonConfig = new JsonConfig("");
  onConfigure(_size: u32): bool {
    this.config = new JsonConfig(pluginConfiguration());
    log(LogLevel.Info, "header-edit configured");
    return true;
  }
  createHttpContext(id: u32): HttpContext {
    return new HeaderEdit(id, this);
  }
}

class HeaderEdit extends HttpContext {
  resetResponse: bool = false;
  onRequestHeaders(_n: u32, _eos: bool): Action {
    const cfg = (this.root as HeaderEditRoot).config;
    if (getHeader(MapType.RequestHeaders, "x-wasm-reset") != null) {
      closeStream(StreamType.Request);
      return Action.Pause;
    }
    this.resetResponse = getHeader(MapType.RequestHeaders, "x-wasm-reset-response") != null;
    if (getHeader(MapType.RequestHeaders, "x-wasm-teapot") != null) {
      sendLocalResponse(418, "wasm_teapot", "short and stout\n", [["x-wasm-local", "1"]]);
      return Action.Pause;
    }
    const value = cfg.get("value", "wasm");
    replaceHeader(MapType.RequestHeaders, cfg.get("requestHeader", "x-wasm-request"), value);
    const pseudo = [":method", ":scheme", ":path", ":authority"];
    for (let i = 0; i < pseudo.length; i++) {
      const v = cfg.get(pseudo[i].substring(1), "");
      if (v.length > 0) replaceHeader(MapType.RequestHeaders, pseudo[i], v);
    }
    const remove = cfg.get("removeRequestHeader", "");
    if (remove.length > 0) removeHeader(MapType.RequestHeaders, remove);
    if (cfg.get("appendRequestBody", "").length > 0) removeHeader(MapType.RequestHeaders, "content-length");
    return Action.Continue;
  }
  onRequestBody(_size: u32, eos: bool): Action {
    const extra = (this.root as HeaderEditRoot).config.get("appendRequestBody", "");
    if (extra.length == 0) return Action.Continue;
    if (!eos) return Action.Pause;
    appendBuffer(BufferType.RequestBody, String.UTF8.encode(extra));
    return Action.Continue;
  }
  onResponseHeaders(_n: u32, _eos: bool): Action {
    const cfg = (this.root as HeaderEditRoot).config;
    if (this.resetResponse) {
      closeStream(StreamType.Response);
      return Action.Pause;
    }
    addHeader(MapType.ResponseHeaders, cfg.get("responseHeader", "x-wasm-response"), cfg.get("value", "wasm"));
    if (cfg.get("appendResponseBody", "").length > 0) removeHeader(MapType.ResponseHeaders, "content-length");
    return Action.Continue;
  }
  onResponseBody(_size: u32, eos: bool): Action {
    const cfg = (this.root as HeaderEditRoot).config;
    const added = cfg.get("addResponseTrailer", "");
    if (eos && added.length > 0) addHeader(MapType.ResponseTrailers, added, cfg.get("value", "wasm"));
    const extra = cfg.get("appendResponseBody", "");
    if (extra.length == 0) return Action.Continue;
    if (!eos) return Action.Pause;
    appendBuffer(BufferType.ResponseBody, String.UTF8.encode(extra));
    return Action.Continue;
  }
  onRequestTrailers(n: u32): Action {
    const name = (this.root as HeaderEditRoot).config.get("requestTrailer", "");
    if (name.length > 0) addHeader(MapType.RequestTrailers, name, n.toString());
    return Action.Continue;
  }
  onResponseTrailers(_n: u32): Action {
    const cfg = (this.root as HeaderEditRoot).config;
    const suffix = cfg.get("responseTrailerSuffix", "");
    if (suffix.length == 0) return Action.Continue;
    const pairs = getHeaderPairs(MapType.ResponseTrailers);
    for (let i = 0; i < pairs.length; i++) {
      if (pairs[i][0].startsWith("x-")) replaceHeader(MapType.ResponseTrailers, pairs[i][0], pairs[i][1] + suffix);
    }
    addHeader(MapType.ResponseTrailers, "x-wasm-trailers-seen", pairs.length.toString());
    const drop = cfg.get("removeResponseTrailer", "");
    if (drop.length > 0) removeHeader(MapType.ResponseTrailers, drop);
    return Action.Continue;
  }
}

registerRootContext((id: u32): RootContext => new HeaderEditRoot(id));
