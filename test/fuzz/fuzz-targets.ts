/**
 * Fuzz targets (issue 11 §4). Each runs `iterations` seeded cases and returns what broke a
 * property: a throw where a coded result is promised, or a result that violates an invariant.
 * `npm test` runs a short, fixed number of iterations (test/fuzz/fuzz.test.ts); scripts/fuzz.mjs
 * runs them for a set time with fresh seeds and reports executions and findings.
 *
 * The HTTP-in-tunnel target needs a running mesh and lives in fuzz-http-tunnel.test.ts (short) and
 * scripts/fuzz.mjs (long). The Wasm host target is in wasm-host-fuzz.ts (it assembles its plugin
 * once, in `prepare`).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { buildSnapshot } from '../../src/config/snapshot-builder.js';
import { translateFile } from '../../src/config/from-k8s/translate.js';
import type { TranslatedObject } from '../../src/config/from-k8s/translator.js';
import { formatAuthority, parseAuthority } from '../../src/hbone/authority.js';
import { baggageHeader, forwardedHeader, forwardedHost } from '../../src/hbone/connect-headers.js';
import { parseB3Single, parseTraceparent } from '../../src/telemetry/trace-context.js';
import { classifyPrefix } from '../../src/waypoint/sniff.js';
import { Socks5Parser } from '../../src/ztunnel/socks5.js';
import { DEFAULT_MESH_DIR } from '../helpers/relocated-config.js';
import { Mutator } from './mutator.js';
import { http1CodecTarget } from './http1-codec-fuzz.js';
import { hpackDecoderTarget } from './hpack-fuzz.js';
import { wasmHostTarget } from './wasm-host-fuzz.js';

export interface Finding {
  readonly target: string;
  readonly seed: number;
  readonly iteration: number;
  readonly input: string;
  readonly problem: string;
}

export interface FuzzTarget {
  readonly name: string;
  /** Asynchronous set-up, awaited once before the first case (e.g. assembling a module). */
  prepare?(): Promise<void>;
  /** Runs one case; returns a problem description, or undefined when every property held. */
  one(m: Mutator): { input: string; problem: string | undefined };
}

export interface FuzzRun {
  readonly target: string;
  readonly executions: number;
  readonly findings: readonly Finding[];
}

export function runTarget(t: FuzzTarget, seed: number, iterations: number): FuzzRun {
  const m = new Mutator(seed);
  const findings: Finding[] = [];
  for (let i = 0; i < iterations; i++) {
    let input = '';
    let problem: string | undefined;
    try {
      const r = t.one(m);
      input = r.input;
      problem = r.problem;
    } catch (err) {
      problem = `threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    }
    if (problem !== undefined) findings.push({ target: t.name, seed, iteration: i, input: input.slice(0, 2000), problem });
  }
  return { target: t.name, executions: iterations, findings };
}

/** Runs `one` and turns a throw into a finding while keeping the input. */
function guarded(input: string, check: () => string | undefined): { input: string; problem: string | undefined } {
  try {
    return { input, problem: check() };
  } catch (err) {
    return { input, problem: `threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` };
  }
}

const SOCKS_SEEDS: readonly Buffer[] = [
  Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0x23, 0x78]),
  Buffer.concat([Buffer.from([5, 2, 0, 2, 5, 1, 0, 3, 7]), Buffer.from('reviews'), Buffer.from([0x23, 0x78, 0x47, 0x45, 0x54])]),
  Buffer.from([5, 1, 0, 5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80]),
];

const socks5: FuzzTarget = {
  name: 'socks5',
  one(m) {
    const input = m.chance(0.1) ? Buffer.from(m.string(64), 'latin1') : m.mutate(m.pick(SOCKS_SEEDS));
    return guarded(input.toString('hex'), () => {
      const p = new Socks5Parser();
      for (const c of m.chunks(input)) {
        p.push(c);
        // Bounded: the parser must reach a verdict or ask for more within a few steps.
        for (let step = 0; ; step++) {
          if (step > 4) return 'parser did not settle within 4 events';
          const ev = p.next();
          if (ev.kind === 'more' || ev.kind === 'error') break;
          if (ev.kind === 'request') {
            const r = ev.request;
            if (!Number.isInteger(r.port) || r.port < 0 || r.port > 65535) return `bad port ${r.port}`;
            if (typeof r.host !== 'string' || r.host.length === 0) return 'empty host';
            break;
          }
        }
      }
      return undefined;
    });
  },
};

const AUTHORITY_SEEDS = ['127.0.0.1:80', '[::1]:443', 'reviews.default.svc.cluster.local:9080', '127.2.0.1:15008', '[fe80::1]:1'];

const authority: FuzzTarget = {
  name: 'authority',
  one(m) {
    const text = m.chance(0.3) ? m.string(40) : m.mutate(Buffer.from(m.pick(AUTHORITY_SEEDS), 'latin1')).toString('latin1');
    return guarded(text, () => {
      const a = parseAuthority(text);
      if (!a) return undefined;
      if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) return `port ${a.port} accepted`;
      if (/[\s\r\n\0/@?#]/.test(a.host)) return `host ${JSON.stringify(a.host)} accepted`;
      const again = parseAuthority(formatAuthority(a.host, a.port));
      if (!again || again.host !== a.host || again.port !== a.port) return 'format/parse does not round-trip';
      return undefined;
    });
  },
};

const FORWARDED_SEEDS = ['for="127.1.0.2:4000";host=reviews.default.svc.cluster.local', 'for=1.2.3.4, for="[::1]:80";host="a"', 'host=;for=x'];

const headers: FuzzTarget = {
  name: 'forwarded-baggage-trace',
  one(m) {
    const text = m.chance(0.3) ? m.string(80) : m.mutate(Buffer.from(m.pick(FORWARDED_SEEDS), 'latin1')).toString('latin1');
    return guarded(text, () => {
      const h = forwardedHost(text);
      if (h !== undefined && (typeof h !== 'string' || h.length === 0)) return 'forwardedHost returned a non-string or empty host';
      parseTraceparent(text);
      parseB3Single(text);
      // What we send must survive what we parse, whatever the values.
      const host = m.string(20).replace(/[",;=\s]/g, '') || 'h';
      if (forwardedHost(forwardedHeader('127.0.0.1', 1 + m.int(65535), host)) !== host) return `forwarded host ${JSON.stringify(host)} did not round-trip`;
      const b = baggageHeader({ namespace: m.string(10), workloadType: 'deployment', workloadName: m.string(10), service: m.string(10), version: m.string(10) });
      for (let i = 0; i < b.length; i++) {
        const c = b.charCodeAt(i);
        if (c <= 0x20 || c >= 0x7f || c === 0x22 || c === 0x3b || c === 0x5c) return `baggage carries byte 0x${c.toString(16)}: ${JSON.stringify(b)}`;
      }
      return undefined;
    });
  },
};

const HTTP_SEEDS = ['GET / HTTP/1.1\r\nHost: a\r\n\r\n', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'POST /x HTTP/1.0\n\n', '\x16\x03\x01\x02\x00'];

const sniff: FuzzTarget = {
  name: 'sniff',
  one(m) {
    const input = m.mutate(Buffer.from(m.pick(HTTP_SEEDS), 'latin1'));
    return guarded(input.toString('hex'), () => {
      const c = classifyPrefix(input);
      if (c !== 'http1' && c !== 'http2' && c !== 'tcp' && c !== 'more') return `unexpected class ${String(c)}`;
      return undefined;
    });
  },
};

/** The embedded default config, parsed: seeds for object-level mutation. */
function loadYamlSeeds(): { readonly texts: readonly string[]; readonly docs: readonly unknown[] } {
  const texts: string[] = [];
  const docs: unknown[] = [];
  for (const f of readdirSync(DEFAULT_MESH_DIR).filter((n) => n.endsWith('.yaml'))) {
    const text = readFileSync(path.join(DEFAULT_MESH_DIR, f), 'utf8');
    texts.push(text);
    for (const d of text.split(/^---$/m)) {
      try {
        const v: unknown = parseYaml(d);
        if (v && typeof v === 'object') docs.push(v);
      } catch {
        // A seed that does not parse is simply not used.
      }
    }
  }
  return { texts, docs };
}

let yamlSeeds: ReturnType<typeof loadYamlSeeds> | undefined;

const KINDS: ReadonlyArray<readonly [string, string]> = [
  ['v1', 'Service'],
  ['v1', 'Pod'],
  ['v1', 'Namespace'],
  ['gateway.networking.k8s.io/v1', 'Gateway'],
  ['gateway.networking.k8s.io/v1', 'HTTPRoute'],
  ['gateway.networking.k8s.io/v1', 'GRPCRoute'],
  ['networking.istio.io/v1', 'VirtualService'],
  ['networking.istio.io/v1', 'DestinationRule'],
  ['security.istio.io/v1', 'AuthorizationPolicy'],
  ['security.istio.io/v1', 'RequestAuthentication'],
  ['telemetry.istio.io/v1', 'Telemetry'],
];

/** A random value of a random JSON type, the shapes a hostile or broken manifest holds. */
function randomValue(m: Mutator, depth: number): unknown {
  switch (m.int(depth > 2 ? 5 : 7)) {
    case 0:
      return null;
    case 1:
      return m.pick([0, -1, 1.5, 65536, 2 ** 53, Number.MAX_VALUE, 80, 15008]);
    case 2:
      return m.chance(0.5);
    case 3:
      return m.string(12);
    case 4:
      return m.pick(['', '127.1.0.1', '__proto__', 'constructor', 'a'.repeat(300), '0s', '-1s', 'http', 'HBONE', '*', '/']);
    case 5:
      return Array.from({ length: m.int(4) }, () => randomValue(m, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = m.int(4); i > 0; i--) o[m.pick(['name', 'port', 'value', 'kind', 'spec', 'match', 'rules', 'hosts', 'selector', m.string(6)])] = randomValue(m, depth + 1);
      return o;
    }
  }
}

/** Replaces, deletes or adds one field somewhere in `v` (mutates in place). */
function mutateTree(m: Mutator, v: unknown, depth = 0): void {
  if (!v || typeof v !== 'object') return;
  const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  const obj = v as Record<string | number, unknown>;
  if (keys.length === 0 || m.chance(0.25) || depth > 6) {
    const key = Array.isArray(v) ? keys.length : m.pick(['spec', 'metadata', 'name', 'ports', 'rules', 'addresses', m.string(8)]);
    obj[key] = randomValue(m, depth);
    return;
  }
  const k = m.pick<string | number>(keys);
  const child = obj[k];
  if (child && typeof child === 'object' && m.chance(0.6)) mutateTree(m, child, depth + 1);
  else if (m.chance(0.3)) delete obj[k];
  else obj[k] = randomValue(m, depth);
}

const yamlTarget: FuzzTarget = {
  name: 'yaml-translators',
  one(m) {
    yamlSeeds ??= loadYamlSeeds();
    let text: string;
    if (m.chance(0.3)) {
      // Text-level: broken YAML, odd indentation, stray bytes.
      text = m.mutate(Buffer.from(m.pick(yamlSeeds.texts))).toString('utf8');
    } else {
      const docs: unknown[] = [];
      for (let i = 1 + m.int(3); i > 0; i--) {
        const doc = structuredClone(m.pick(yamlSeeds.docs)) as Record<string, unknown>;
        if (m.chance(0.3)) {
          const [apiVersion, kind] = m.pick(KINDS);
          doc.apiVersion = apiVersion;
          doc.kind = kind;
        }
        for (let k = 1 + m.int(4); k > 0; k--) mutateTree(m, doc);
        docs.push(doc);
      }
      text = docs.map((d) => stringifyYaml(d)).join('---\n');
    }
    return guarded(text, () => {
      const t = translateFile('fuzz.yaml', text, { localRanges: m.chance(0.5) });
      for (const d of t.diagnostics) if (typeof d.message !== 'string' || d.message.length === 0) return 'diagnostic without a message';
      const ok: TranslatedObject[] = [];
      for (const o of t.outcomes) if (o.status === 'ok') ok.push(o.object);
      const built = buildSnapshot(ok, 1);
      if (!built.snapshot) return 'no snapshot';
      return undefined;
    });
  },
};

export const FUZZ_TARGETS: readonly FuzzTarget[] = [socks5, authority, headers, sniff, yamlTarget, wasmHostTarget, http1CodecTarget, hpackDecoderTarget];
