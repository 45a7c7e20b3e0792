/**
 * Lower-case header names of an upstream response as undici reports them (raw Buffers, names as
 * the server wrote them: `Content-Type`). Common names are matched byte by byte against a fixed
 * table and returned as the same interned string, without a native `latin1Slice` call and a
 * `toLowerCase` copy per name; anything else is decoded and lower-cased.
 */
const COMMON = [
  'age',
  'date',
  'etag',
  'vary',
  'server',
  'expires',
  'location',
  'connection',
  'keep-alive',
  'set-cookie',
  'grpc-status',
  'content-type',
  'grpc-message',
  'accept-ranges',
  'cache-control',
  'last-modified',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'x-envoy-upstream-service-time',
];

/** Candidates by length (a name's length rules out all but one or two). */
const BY_LENGTH: (readonly string[] | undefined)[] = [];
for (const name of COMMON) BY_LENGTH[name.length] = [...(BY_LENGTH[name.length] ?? []), name];

function commonName(raw: Buffer): string | undefined {
  const candidates = BY_LENGTH[raw.length];
  if (candidates === undefined) return undefined;
  next: for (const name of candidates) {
    for (let i = 0; i < raw.length; i++) {
      let c = raw[i] as number;
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      if (c !== name.charCodeAt(i)) continue next;
    }
    return name;
  }
  return undefined;
}

/** The lower-case name of a raw header name (a Buffer from undici, or a string). */
export function lowerHeaderName(raw: Buffer | string): string {
  if (typeof raw === 'string') return raw.toLowerCase();
  return commonName(raw) ?? raw.toString('latin1').toLowerCase();
}
