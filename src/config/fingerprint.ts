/**
 * A canonical text for IR values, to tell "same config" from "changed config" without caring where
 * it was written: `origin` (file/line) and `generation` are left out, Map entries are sorted by key
 * (insertion order carries no meaning), typed arrays become number lists. Config-time only.
 */
export function fingerprint(value: unknown): string {
  return JSON.stringify(value, (key, v: unknown) => {
    if (key === 'origin' || key === 'generation') return undefined;
    if (v instanceof Map) {
      return [...(v as Map<unknown, unknown>).entries()].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : String(a[0]) > String(b[0]) ? 1 : 0));
    }
    if (ArrayBuffer.isView(v)) return Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    return v;
  });
}
