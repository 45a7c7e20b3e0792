/**
 * The proxy-wasm map serialization: `u32 count`, `count × (u32 key_len, u32 value_len)`, then each
 * key and value followed by a NUL. Used for header maps, http_call and local-reply headers, and
 * map-typed properties. Little-endian; lengths exclude the NUL.
 *
 * Header maps are bytes, as in Envoy: Node holds header values as latin1 strings (one char per
 * byte), so they cross the ABI as `latin1` and a plugin's UTF-8 (or any) bytes reach the wire
 * unchanged. Text maps (node metadata) use `utf8`.
 */
export type Pair = readonly [string, string];

export function serializePairs(pairs: readonly Pair[], encoding: 'latin1' | 'utf8' = 'latin1'): Buffer {
  if (pairs.length === 0) return Buffer.alloc(0);
  const keys = pairs.map(([k]) => Buffer.from(k, encoding));
  const values = pairs.map(([, v]) => Buffer.from(v, encoding));
  let size = 4 + pairs.length * 8;
  for (let i = 0; i < pairs.length; i++) size += (keys[i] as Buffer).length + (values[i] as Buffer).length + 2;
  const out = Buffer.alloc(size);
  out.writeUInt32LE(pairs.length, 0);
  let off = 4;
  for (let i = 0; i < pairs.length; i++) {
    out.writeUInt32LE((keys[i] as Buffer).length, off);
    out.writeUInt32LE((values[i] as Buffer).length, off + 4);
    off += 8;
  }
  for (let i = 0; i < pairs.length; i++) {
    off += (keys[i] as Buffer).copy(out, off) + 1;
    off += (values[i] as Buffer).copy(out, off) + 1;
  }
  return out;
}

/** Parses serialized pairs; undefined when the bytes are malformed (lengths past the end). */
export function parsePairs(buf: Buffer, encoding: 'latin1' | 'utf8' = 'latin1'): Pair[] | undefined {
  if (buf.length === 0 || (buf.length === 1 && buf[0] === 0)) return [];
  if (buf.length < 4) return undefined;
  const n = buf.readUInt32LE(0);
  if (n > 0xffff || 4 + n * 8 > buf.length) return undefined;
  const out: Pair[] = [];
  let data = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const kl = buf.readUInt32LE(4 + i * 8);
    const vl = buf.readUInt32LE(8 + i * 8);
    if (data + kl + vl + 2 > buf.length) return undefined;
    const k = buf.toString(encoding, data, data + kl);
    data += kl + 1;
    const v = buf.toString(encoding, data, data + vl);
    data += vl + 1;
    out.push([k, v]);
  }
  return out;
}
