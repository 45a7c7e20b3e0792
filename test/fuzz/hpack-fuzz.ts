/**
 * Fuzz target for the HPACK decoder (src/http2/hpack/): mutated header blocks (the RFC 7541
 * Appendix C blocks and blocks from our encoder) fed in sequence to one decoder, as a connection
 * would. Properties: a refusal is always an HpackError with a stable code (never another throw);
 * after a refusal the decoder refuses everything; what is accepted is a flat name/value list of
 * strings whose listSize is RFC 9113's count, and it survives our encoder and a fresh decoder.
 */
import { HpackDecoder } from '../../src/http2/hpack/hpack-decoder.js';
import { HpackEncoder } from '../../src/http2/hpack/hpack-encoder.js';
import { HpackError } from '../../src/http2/hpack/hpack-error.js';
import type { FuzzTarget } from './fuzz-targets.js';
import type { Mutator } from './mutator.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function seeds(): Buffer[] {
  const out = [
    hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'),
    hex('8286 84be 5808 6e6f 2d63 6163 6865'),
    hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'),
    hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'),
    hex('4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3'),
    hex('4883 640e ffc1 c0bf'),
    hex('3fe11f 20 3f45'),
  ];
  const e = new HpackEncoder();
  const fields = [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', '127.0.0.1:8080', 'user-agent', 'h2load', 'accept', '*/*'];
  out.push(e.encode(fields), e.encode(fields), e.encode(['authorization', 'Bearer x', 'cookie', 'a=b', 'x-big', 'q'.repeat(300)]));
  e.setPeerMaxTableSize(100);
  out.push(e.encode([...fields, 'x-n', '1']));
  return out;
}

let SEEDS: Buffer[] | undefined;

function checkAccepted(fields: string[], listSize: number): string | undefined {
  if (fields.length % 2 !== 0) return `odd field list length ${fields.length}`;
  let size = 0;
  for (const f of fields) {
    if (typeof f !== 'string') return 'a field is not a string';
    size += f.length;
  }
  size += 16 * fields.length;
  if (size !== listSize) return `listSize ${listSize}, fields count ${size}`;
  const again = new HpackDecoder().decode(new HpackEncoder().encode(fields)).fields;
  if (again.length !== fields.length || again.some((f, i) => f !== fields[i])) return 'decoded fields do not survive our encoder';
  return undefined;
}

function isCoded(err: unknown): boolean {
  return err instanceof HpackError && (err.code === 'COMPRESSION_ERROR' || err.code === 'HEADER_LIST_TOO_LARGE');
}

export const hpackDecoderTarget: FuzzTarget = {
  name: 'hpack-decoder',
  one(m: Mutator) {
    SEEDS ??= seeds();
    const blocks: Buffer[] = [];
    for (let n = 1 + m.int(3); n > 0; n--) blocks.push(m.chance(0.1) ? Buffer.from(m.string(40), 'latin1') : m.mutate(m.pick(SEEDS)));
    const input = blocks.map((b) => b.toString('hex')).join(' ');
    const d = new HpackDecoder({ maxTableSize: m.pick([4096, 256, 0]), hardListLimit: m.pick([1024 * 1024, 4096]) });
    for (const b of blocks) {
      let r;
      try {
        r = d.decode(b);
      } catch (err) {
        if (!isCoded(err)) return { input, problem: `threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` };
        try {
          d.decode(Buffer.from([0x82]));
          return { input, problem: 'decoder accepted a block after refusing one' };
        } catch (again) {
          if (!isCoded(again)) return { input, problem: `threw after a refusal: ${String(again)}` };
        }
        return { input, problem: undefined };
      }
      let problem: string | undefined;
      try {
        problem = checkAccepted(r.fields, r.listSize);
      } catch (err) {
        problem = `round trip threw: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (problem !== undefined) return { input, problem };
    }
    return { input, problem: undefined };
  },
};
