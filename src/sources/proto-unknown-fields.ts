/**
 * Finds the fields of an encoded protobuf message that its schema does not declare, at any depth.
 *
 * The decoder skips unknown fields silently, as protobuf requires. For a security policy that is a
 * fail-open: a constraint this build does not know (a field newer than its schema, or a number
 * it declares wrongly) would vanish and leave a broader match. Resources of the types listed in
 * {@link STRICT_RESOURCE_TYPES} are therefore scanned on the wire, and their translator refuses them
 * when anything was skipped.
 */
import protobuf from 'protobufjs';

/** Resource types whose unknown fields must never be skipped silently. */
export const STRICT_RESOURCE_TYPES: ReadonlySet<string> = new Set(['type.googleapis.com/istio.security.Authorization']);

/** The key a decoded resource carries its unknown fields under (read by the translator). */
export const UNKNOWN_FIELDS_KEY = '@unknown_fields';

const WIRE_LEN = 2;
const MAX_DEPTH = 32;

/** Paths like `rules[0].clauses[1]#1` (field number 1 unknown in that message), or wire errors. */
export function unknownFields(type: protobuf.Type, bytes: Uint8Array): string[] {
  const out: string[] = [];
  try {
    scan(type, bytes, '', out, 0);
  } catch (err) {
    out.push(`malformed: ${err instanceof Error ? err.message : String(err)}`);
  }
  return out;
}

function scan(type: protobuf.Type, bytes: Uint8Array, path: string, out: string[], depth: number): void {
  if (depth > MAX_DEPTH) throw new Error(`nested deeper than ${MAX_DEPTH}`);
  const r = protobuf.Reader.create(bytes);
  const counts = new Map<number, number>();
  while (r.pos < r.len) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    const field = type.fieldsById[id];
    if (!field) {
      out.push(`${path}#${id}`);
      r.skipType(wire);
      continue;
    }
    field.resolve();
    const index = counts.get(id) ?? 0;
    counts.set(id, index + 1);
    const at = `${path ? `${path}.` : ''}${field.name}${field.repeated || field.map ? `[${index}]` : ''}`;
    if (field.map) {
      if (wire !== WIRE_LEN) throw new Error(`${at}: wire type ${wire} for a map entry`);
      scanMapEntry(field, r.bytes(), at, out, depth);
    } else if (field.resolvedType instanceof protobuf.Type) {
      if (wire !== WIRE_LEN) throw new Error(`${at}: wire type ${wire} for a message`);
      scan(field.resolvedType, r.bytes(), at, out, depth + 1);
    } else {
      r.skipType(wire);
    }
  }
}

/** A map entry is a message {key = 1, value = 2}; only a message value can hide unknown fields. */
function scanMapEntry(field: protobuf.Field, bytes: Uint8Array, path: string, out: string[], depth: number): void {
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    if (id === 2 && field.resolvedType instanceof protobuf.Type) {
      if (wire !== WIRE_LEN) throw new Error(`${path}: wire type ${wire} for a message`);
      scan(field.resolvedType, r.bytes(), path, out, depth + 1);
    } else {
      if (id !== 1 && id !== 2) out.push(`${path}#${id}`);
      r.skipType(wire);
    }
  }
}
