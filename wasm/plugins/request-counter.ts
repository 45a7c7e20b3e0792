// Sample plugin: counts requests in shared data (so every plugin instance of the proxy sees the
// same count) with a compare-and-swap loop, exports metrics, and rate-limits.
// pluginConfig: {"key": "requests", "limit": "0", "metric": "wasmcustom.requests_total"}
// - the response carries `x-request-count: <count after this request>`;
// - with a limit > 0, requests past it get a local 429;
// - metrics: a counter `<metric>` and a gauge `<metric>_current` (the shared count).
import { Action, HttpContext, MapType, MetricType, RootContext, Status, defineMetric, getSharedData, incrementMetric, pluginConfiguration, recordMetric, registerRootContext, replaceHeader, sendLocalResponse, setSharedData } from "../sdk/index";
import { JsonConfig } from "./json-config";
export * from "../sdk/exports";

class CounterRoot extends RootContext {
  key: string = "requests";
  limit: u64 = 0;
  counter: u32 = 0;
  gauge: u32 = 0;

  onConfigure(_size: u32): bool {
    const cfg = new JsonConfig(pluginConfiguration());
    this.key = cfg.get("key", "requests");
    this.limit = <u64>parseInt(cfg.get("limit", "0"));
    const metric = cfg.get("metric", "wasmcustom.requests_total");
    this.counter = defineMetric(MetricType.Counter, metric);
    this.gauge = defineMetric(MetricType.Gauge, metric + "_current");
    return this.counter != 0;
  }

  /** Adds one to the shared count (CAS retry on a concurrent writer); returns the new value. */
  bump(): u64 {
    for (let attempt = 0; attempt < 10; attempt++) {
      const cur = getSharedData(this.key);
      let n: u64 = 0;
      if (cur.found && cur.value.byteLength == 8) n = load<u64>(changetype<usize>(cur.value));
      const next = new ArrayBuffer(8);
      store<u64>(changetype<usize>(next), n + 1);
      if (setSharedData(this.key, next, cur.found ? cur.cas : 0) == Status.Ok) return n + 1;
    }
    return 0;
  }

  createHttpContext(id: u32): HttpContext {
    return new CounterStream(id, this);
  }
}

class CounterStream extends HttpContext {
  count: u64 = 0;
  onRequestHeaders(_n: u32, _eos: bool): Action {
    const root = this.root as CounterRoot;
    this.count = root.bump();
    incrementMetric(root.counter, 1);
    recordMetric(root.gauge, this.count);
    if (root.limit > 0 && this.count > root.limit) {
      sendLocalResponse(429, "wasm_rate_limited", "rate limited\n", [["x-request-count", this.count.toString()]]);
      return Action.Pause;
    }
    return Action.Continue;
  }
  onResponseHeaders(_n: u32, _eos: bool): Action {
    replaceHeader(MapType.ResponseHeaders, "x-request-count", this.count.toString());
    return Action.Continue;
  }
}

registerRootContext((id: u32): RootContext => new CounterRoot(id));
