/**
 * The HPACK Huffman code (RFC 7541 §5.2, Appendix B). The code is canonical (within a length,
 * codes increase with the symbol), so the table below holds only each symbol's code length and
 * the codes are derived from it. Decoding walks a nibble-driven state machine built once from
 * the code tree (one table lookup per 4 input bits, as nghttp2 does); it refuses the EOS symbol
 * inside a string and padding that is longer than 7 bits or not a prefix of EOS (all ones).
 */

/** Code length in bits of symbols 0..255 and 256 (EOS), Appendix B. */
const CODE_LENGTHS = Uint8Array.from([
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
]);

const EOS = 256;

/** The code of each symbol, right-aligned (at most 30 bits). */
export const HUFFMAN_CODES = new Uint32Array(257);
export const HUFFMAN_LENGTHS = CODE_LENGTHS;

function assignCanonicalCodes(): void {
  const order = Array.from({ length: 257 }, (_, s) => s).sort((a, b) => (CODE_LENGTHS[a] as number) - (CODE_LENGTHS[b] as number) || a - b);
  let code = 0;
  let prevLen = CODE_LENGTHS[order[0] as number] as number;
  for (let i = 0; i < order.length; i++) {
    const s = order[i] as number;
    const len = CODE_LENGTHS[s] as number;
    if (i > 0) code = (code + 1) * 2 ** (len - prevLen);
    prevLen = len;
    HUFFMAN_CODES[s] = code;
  }
}
assignCanonicalCodes();

// ---- decoding state machine ----
// The code tree has 256 internal nodes (257 leaves); a state is an internal node, 0 the root.
// DECODE[(state << 4) | nibble] = next state (bits 0-7) | symbol (bits 8-15) | EMIT | FAIL.
const EMIT = 1 << 16;
const FAIL = 1 << 17;
const DECODE = new Uint32Array(256 * 16);
/** 1 when ending a string in this state is valid padding (root, or ≤ 7 bits all ones). */
const ACCEPTS = new Uint8Array(256);

function buildDecoder(): void {
  // children[2 * node + bit]: >= 0 an internal node, < 0 the leaf -(symbol + 1).
  const children = new Int32Array(2 * 256).fill(0x7fffffff);
  const depth = new Uint8Array(256);
  const allOnes = new Uint8Array(256);
  allOnes[0] = 1;
  let nodes = 1;
  for (let s = 0; s <= EOS; s++) {
    const len = CODE_LENGTHS[s] as number;
    const code = HUFFMAN_CODES[s] as number;
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) & 1;
      const slot = 2 * node + bit;
      if (i === 0) {
        children[slot] = -(s + 1);
        break;
      }
      let next = children[slot] as number;
      if (next === 0x7fffffff) {
        next = nodes++;
        children[slot] = next;
        depth[next] = (depth[node] as number) + 1;
        allOnes[next] = allOnes[node] === 1 && bit === 1 ? 1 : 0;
      }
      node = next;
    }
  }
  for (let state = 0; state < 256; state++) {
    ACCEPTS[state] = state === 0 || (allOnes[state] === 1 && (depth[state] as number) <= 7) ? 1 : 0;
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let out = 0;
      for (let b = 3; b >= 0; b--) {
        const c = children[2 * node + ((nibble >> b) & 1)] as number;
        if (c >= 0) {
          node = c;
          continue;
        }
        const sym = -c - 1;
        if (sym === EOS) {
          out = FAIL;
          break;
        }
        out = EMIT | (sym << 8);
        node = 0;
      }
      DECODE[(state << 4) | nibble] = out === FAIL ? FAIL : out | node;
    }
  }
}
buildDecoder();

/** What {@link huffmanDecode} returns on failure. */
export const HUFFMAN_EOS = -1;
export const HUFFMAN_BAD_PADDING = -2;

/**
 * Decodes `src[start, end)` into `out` from 0 (room for `maxHuffmanDecodedLength` bytes);
 * returns the decoded length, or {@link HUFFMAN_EOS} / {@link HUFFMAN_BAD_PADDING}.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number, out: Uint8Array): number {
  let state = 0;
  let n = 0;
  for (let i = start; i < end; i++) {
    const b = src[i] as number;
    let e = DECODE[(state << 4) | (b >> 4)] as number;
    if ((e & FAIL) !== 0) return HUFFMAN_EOS;
    if ((e & EMIT) !== 0) out[n++] = (e >> 8) & 0xff;
    state = e & 0xff;
    e = DECODE[(state << 4) | (b & 15)] as number;
    if ((e & FAIL) !== 0) return HUFFMAN_EOS;
    if ((e & EMIT) !== 0) out[n++] = (e >> 8) & 0xff;
    state = e & 0xff;
  }
  return ACCEPTS[state] === 1 ? n : HUFFMAN_BAD_PADDING;
}

/** The most bytes `encodedLength` Huffman bytes can decode to (the shortest code is 5 bits). */
export function maxHuffmanDecodedLength(encodedLength: number): number {
  return Math.floor((encodedLength * 8) / 5);
}

/** The Huffman-encoded length in bytes of latin1 string `s` (chars above 0xff count as their low byte). */
export function huffmanEncodedLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += CODE_LENGTHS[s.charCodeAt(i) & 0xff] as number;
  return (bits + 7) >> 3;
}

/**
 * Writes the Huffman encoding of `s` at `buf[pos]` (room for {@link huffmanEncodedLength}
 * bytes), padded with the EOS prefix; returns the position after it.
 */
export function huffmanEncode(s: string, buf: Uint8Array, pos: number): number {
  return huffmanEncodeBefore(s, buf, pos, Infinity);
}

/**
 * As {@link huffmanEncode}, but gives up (returns -1) as soon as the encoding would reach
 * `limit`: one pass when the caller only wants the Huffman form if it is shorter than another.
 */
export function huffmanEncodeBefore(s: string, buf: Uint8Array, pos: number, limit: number): number {
  // acc holds < 8 pending bits between symbols; codes over 24 bits go in two parts so that
  // acc never exceeds 31 bits.
  let acc = 0;
  let nbits = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    let len = CODE_LENGTHS[sym] as number;
    let code = HUFFMAN_CODES[sym] as number;
    if (len > 24) {
      acc = (acc << (len - 16)) | (code >>> 16);
      nbits += len - 16;
      while (nbits >= 8) {
        if (pos >= limit) return -1;
        nbits -= 8;
        buf[pos++] = acc >>> nbits;
      }
      acc &= (1 << nbits) - 1;
      code &= 0xffff;
      len = 16;
    }
    acc = (acc << len) | code;
    nbits += len;
    while (nbits >= 8) {
      if (pos >= limit) return -1;
      nbits -= 8;
      buf[pos++] = acc >>> nbits;
    }
    acc &= (1 << nbits) - 1;
  }
  if (nbits > 0) {
    if (pos >= limit) return -1;
    buf[pos++] = ((acc << (8 - nbits)) | (0xff >> nbits)) & 0xff;
  }
  return pos;
}
