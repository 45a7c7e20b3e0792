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

// The configuration is resolved into fields once, in on_configure: the callbacks read fields, not
// the config map (each map lookup hashes the key, and the pseudo-header list would be rebuilt).
class HeaderEditRoot extends RootContext {
  value: string = "wasm";
  requestHeader: string = "x-wasm-request";
  responseHeader: string = "x-wasm-response";
  /** `:method`, `:scheme`, `:path`, `:authority` replacements (empty: keep). */
  pseudoNames: string[] = [];
  pseudoValues: string[] = [];
  removeRequestHeader: string = "";
  appendRequestBody: string = "";
  appendResponseBody: string = "";
  addResponseTrailer: string = "";
  requestTrailer: string = "";
  responseTrailerSuffix: string = "";
  removeResponseTrailer: string = "";

  onConfigure(_size: u32): bool {
    const cfg = new JsonConfig(pluginConfiguration());
    this.value = cfg.get("value", "wasm");
    this.requestHeader = cfg.get("requestHeader", "x-wasm-request");
    this.responseHeader = cfg.get("responseHeader", "x-wasm-response");
    const pseudo = [":method", ":scheme", ":path", ":authority"];
    this.pseudoNames = [];
    this.pseudoValues = [];
    for (let i = 0; i < pseudo.length; i++) {
      const v = cfg.get(pseudo[i].substring(1), "");
      if (v.length > 0) {
        this.pseudoNames.push(pseudo[i]);
        this.pseudoValues.push(v);
      }
    }
    this.removeRequestHeader = cfg.get("removeRequestHeader", "");
    this.appendRequestBody = cfg.get("appendRequestBody", "");
    this.appendResponseBody = cfg.get("appendResponseBody", "");
    this.addResponseTrailer = cfg.get("addResponseTrailer", "");
    this.requestTrailer = cfg.get("requestTrailer", "");
    this.responseTrailerSuffix = cfg.get("responseTrailerSuffix", "");
    this.removeResponseTrailer = cfg.get("removeResponseTrailer", "");
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
    const cfg = this.root as HeaderEditRoot;
    if (getHeader(MapType.RequestHeaders, "x-wasm-reset") != null) {
      closeStream(StreamType.Request);
      return Action.Pause;
    }
    this.resetResponse = getHeader(MapType.RequestHeaders, "x-wasm-reset-response") != null;
    if (getHeader(MapType.RequestHeaders, "x-wasm-teapot") != null) {
      sendLocalResponse(418, "wasm_teapot", "short and stout\n", [["x-wasm-local", "1"]]);
      return Action.Pause;
    }
    replaceHeader(MapType.RequestHeaders, cfg.requestHeader, cfg.value);
    for (let i = 0; i < cfg.pseudoNames.length; i++) replaceHeader(MapType.RequestHeaders, cfg.pseudoNames[i], cfg.pseudoValues[i]);
    if (cfg.removeRequestHeader.length > 0) removeHeader(MapType.RequestHeaders, cfg.removeRequestHeader);
    if (cfg.appendRequestBody.length > 0) removeHeader(MapType.RequestHeaders, "content-length");
    return Action.Continue;
  }
  onRequestBody(_size: u32, eos: bool): Action {
    const extra = (this.root as HeaderEditRoot).appendRequestBody;
    if (extra.length == 0) return Action.Continue;
    if (!eos) return Action.Pause;
    appendBuffer(BufferType.RequestBody, String.UTF8.encode(extra));
    return Action.Continue;
  }
  onResponseHeaders(_n: u32, _eos: bool): Action {
    const cfg = this.root as HeaderEditRoot;
    if (this.resetResponse) {
      closeStream(StreamType.Response);
      return Action.Pause;
    }
    addHeader(MapType.ResponseHeaders, cfg.responseHeader, cfg.value);
    if (cfg.appendResponseBody.length > 0) removeHeader(MapType.ResponseHeaders, "content-length");
    return Action.Continue;
  }
  onResponseBody(_size: u32, eos: bool): Action {
    const cfg = this.root as HeaderEditRoot;
    const added = cfg.addResponseTrailer;
    if (eos && added.length > 0) addHeader(MapType.ResponseTrailers, added, cfg.value);
    const extra = cfg.appendResponseBody;
    if (extra.length == 0) return Action.Continue;
    if (!eos) return Action.Pause;
    appendBuffer(BufferType.ResponseBody, String.UTF8.encode(extra));
    return Action.Continue;
  }
  onRequestTrailers(n: u32): Action {
    const name = (this.root as HeaderEditRoot).requestTrailer;
    if (name.length > 0) addHeader(MapType.RequestTrailers, name, n.toString());
    return Action.Continue;
  }
  onResponseTrailers(_n: u32): Action {
    const cfg = this.root as HeaderEditRoot;
    const suffix = cfg.responseTrailerSuffix;
    if (suffix.length == 0) return Action.Continue;
    const pairs = getHeaderPairs(MapType.ResponseTrailers);
    for (let i = 0; i < pairs.length; i++) {
      if (pairs[i][0].startsWith("x-")) replaceHeader(MapType.ResponseTrailers, pairs[i][0], pairs[i][1] + suffix);
    }
    addHeader(MapType.ResponseTrailers, "x-wasm-trailers-seen", pairs.length.toString());
    const drop = cfg.removeResponseTrailer;
    if (drop.length > 0) removeHeader(MapType.ResponseTrailers, drop);
    return Action.Continue;
  }
}

registerRootContext((id: u32): RootContext => new HeaderEditRoot(id));
