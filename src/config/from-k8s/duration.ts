/**
 * Durations as route objects write them: Gateway API (GEP-2257: `1h`, `30s`, `500ms`, `1m30s`)
 * and Istio's protobuf Durations (`10s`, `0.5s`). Returns milliseconds.
 */
import type { FieldPath, ObjectReader } from './object-reader.js';

const PART_RE = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Parses `text`; `undefined` when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (text === '' || text === '0') return text === '0' ? 0 : undefined;
  PART_RE.lastIndex = 0;
  let total = 0;
  let pos = 0;
  for (let m = PART_RE.exec(text); m !== null; m = PART_RE.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0);
    pos = PART_RE.lastIndex;
  }
  return pos === text.length ? Math.round(total) : undefined;
}

/** Reads an optional duration field, reporting a bad one. */
export function readDuration(r: ObjectReader, path: FieldPath): number | undefined {
  const text = r.string(path);
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined) r.error(path, 'FIELD_INVALID', `${JSON.stringify(text)} is not a duration (like 10s, 500ms, 1m30s)`);
  return ms;
}
