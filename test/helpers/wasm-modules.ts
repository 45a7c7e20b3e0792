/**
 * Wasm test material: paths of the modules `npm run build:wasm` produces (dist/wasm/), a wabt
 * assembler for modules written inline in tests, and default VM settings for driving the host
 * directly.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { HeaderMap } from '../../src/filter/header-map.js';
import { HttpRequestContext } from '../../src/filter/request-context.js';
import type { HttpCallDispatcher } from '../../src/wasm/http-call.js';
import { NO_HTTP_CALLS } from '../../src/wasm/http-call.js';
import type { PluginVmSettings } from '../../src/wasm/plugin-handle.js';
import { PluginMetrics } from '../../src/wasm/plugin-metrics.js';
import { SharedState } from '../../src/wasm/shared-data.js';

/** dist/wasm (this file runs from dist/test/helpers). */
export const WASM_DIST = path.resolve(import.meta.dirname, '..', '..', 'wasm');

export const pluginPath = (name: 'header-edit' | 'http-authz' | 'request-counter'): string => path.join(WASM_DIST, 'plugins', `${name}.wasm`);
export const compatPath = (name: 'rust' | 'tinygo' | 'go-wasip1' | 'cpp'): string => path.join(WASM_DIST, 'compat', `${name}.wasm`);
export const readModule = (p: string): Buffer => readFileSync(p);

interface Wabt {
  parseWat(name: string, text: string, features?: Record<string, boolean>): { toBinary(o: object): { buffer: Uint8Array }; destroy(): void };
}
let wabt: Wabt | undefined;

/** Assembles WebAssembly text (tests write small modules inline). */
export async function wat(text: string): Promise<Uint8Array> {
  if (!wabt) {
    const mod = (await import('wabt')) as unknown as { default: () => Promise<Wabt> };
    wabt = await mod.default();
  }
  const m = wabt.parseWat('inline.wat', text, {});
  try {
    return m.toBinary({}).buffer;
  } finally {
    m.destroy();
  }
}

export interface LogLine {
  readonly level: number;
  readonly plugin: string;
  readonly message: string;
}

export function vmSettings(overrides: Partial<PluginVmSettings> = {}, logs: LogLine[] = [], httpCalls: HttpCallDispatcher = NO_HTTP_CALLS): PluginVmSettings {
  return {
    pluginName: 'default.test-plugin',
    rootId: 'root',
    vmId: '',
    pluginConfig: Buffer.alloc(0),
    vmConfig: Buffer.alloc(0),
    env: new Map(),
    shared: new SharedState(),
    metrics: new PluginMetrics(),
    httpCalls,
    node: { id: 'waypoint~127.0.0.1~waypoint.default~default.svc.cluster.local', cluster: 'waypoint.default', metadata: { NAMESPACE: 'default' } },
    log: (level, plugin, message) => void logs.push({ level, plugin, message }),
    logLevel: 0,
    ...overrides,
  };
}

export function testRequest(headers: Record<string, string> = {}, p = '/test?q=1'): HttpRequestContext {
  return new HttpRequestContext({
    method: 'GET',
    authority: 'reviews.default.svc.cluster.local:9080',
    path: p,
    protocol: 'HTTP/1.1',
    headers: HeaderMap.fromNode(headers),
    requestId: 'req-1',
    source: { address: '127.1.0.1', port: 40000, principal: 'spiffe://cluster.local/ns/default/sa/sleep' },
    destination: {
      hostname: 'reviews.default.svc.cluster.local',
      name: 'reviews',
      namespace: 'default',
      port: 9080,
      appProtocol: 'http',
      connectAuthority: '127.100.0.10:9080',
    },
  });
}
