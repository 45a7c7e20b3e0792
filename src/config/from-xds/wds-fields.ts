/** Field readers shared by the workload-API translators (enums by name, extensions). */
import type { AppProtocol } from '../ir.js';
import type { XdsReader } from './xds-reader.js';

/** An `istio.workload.Extension`: its name and the type of its config, kept as sent. */
export interface WdsExtensionDraft {
  readonly name: string;
  readonly configType?: string;
}

/**
 * An enum field by name; proto3 leaves the zero value (`known[0]`) out. A number the schema does
 * not name arrives as a number and rejects the resource, as ztunnel's `try_from` does.
 */
export function readEnum<T extends string>(r: XdsReader, key: string, known: readonly [T, ...T[]]): T {
  const v = r.field(key).value;
  if (v === undefined || v === null) return known[0];
  return known.find((k) => k === v) ?? r.fail(`unknown ${key} ${JSON.stringify(v)}`, [key]);
}

/** A repeated enum field by name. */
export function readEnumList<T extends string>(r: XdsReader, key: string, known: readonly [T, ...T[]]): T[] {
  return r.list(key).map((e) => known.find((k) => k === e.value) ?? e.fail(`unknown ${key} value ${JSON.stringify(e.value)}`));
}

export function readExtensions(r: XdsReader): WdsExtensionDraft[] {
  return r.list('extensions').map((e) => {
    const config = e.optional('config');
    const t = config?.has('@type') ? config.typeUrl() : config?.str('type_url');
    return { name: e.str('name') ?? '', ...(t ? { configType: t } : {}) };
  });
}

const APP_PROTOCOLS: Readonly<Record<string, AppProtocol>> = { UNKNOWN: 'unknown', HTTP11: 'http', HTTP2: 'http2', GRPC: 'grpc', TCP: 'tcp', TLS: 'tls' };

/** `istio.workload.Port.app_protocol` → the IR's protocol of a port (UNKNOWN = sniff). */
export function readAppProtocol(r: XdsReader): AppProtocol {
  const name = readEnum(r, 'app_protocol', ['UNKNOWN', 'HTTP11', 'HTTP2', 'GRPC', 'TCP', 'TLS'] as const);
  return APP_PROTOCOLS[name] ?? 'unknown';
}
