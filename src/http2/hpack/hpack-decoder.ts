/**
 * HPACK decoder (RFC 7541 §3, §6): one complete header block in, Node's flat raw field list out
 * ([name0, value0, ...], latin1, exactly as on the wire). Strict: index 0 or past the tables,
 * integers past 31 bits, strings past the block, bad Huffman, a table size update above our
 * SETTINGS_HEADER_TABLE_SIZE, after a field or more than two in a row are all a
 * COMPRESSION_ERROR, and after any error the decoder refuses further blocks (its dynamic table
 * no longer matches the peer's, so the connection must die).
 *
 * Names and values are not validated here (the caller applies RFC 9113 §8.2 rules); the decoder
 * only bounds memory: the header list size (RFC 9113 §6.5.2) may reach `hardListLimit` while the
 * whole block is decoded to keep the table in sync, and the caller answers 431 from `listSize`.
 */
import { DynamicTable, ENTRY_OVERHEAD } from './dynamic-table.js';
import { HpackError, compressionError } from './hpack-error.js';
import { readInteger } from './hpack-integer.js';
import { HUFFMAN_EOS, huffmanDecode, maxHuffmanDecodedLength } from './huffman.js';
import { STATIC_NAMES, STATIC_TABLE_LENGTH, STATIC_VALUES } from './static-table.js';

export interface HpackDecoderOptions {
  /** Our SETTINGS_HEADER_TABLE_SIZE: the largest dynamic table the peer may ask for. Default 4096. */
  readonly maxTableSize?: number;
  /** Decoding stops with HEADER_LIST_TOO_LARGE past this list size. Default 1 MiB. */
  readonly hardListLimit?: number;
  /**
   * The table's size before the peer's first size update. Default 4096, the protocol's initial
   * SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2), whatever `maxTableSize` is: a peer may encode
   * its first blocks before it has seen our SETTINGS, and only a size update from it changes the
   * table it encodes against. (The RFC 7541 Appendix C.5/C.6 examples assume 256 from the start.)
   */
  readonly initialTableSize?: number;
}

export interface DecodedBlock {
  readonly fields: string[];
  readonly listSize: number;
}

/** Buffer methods Node has on every Buffer but @types/node does not declare. */
interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}

const PROTOCOL_INITIAL_TABLE_SIZE = 4096;
/** The largest Huffman scratch buffer a decoder keeps between strings. */
const MAX_KEPT_SCRATCH = 16 * 1024;

function asBuffer(block: Uint8Array): Latin1Buffer {
  return (Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength)) as Latin1Buffer;
}

export class HpackDecoder {
  /** The read position in the current block (the decoder is its own integer cursor). */
  pos = 0;
  private readonly table: DynamicTable;
  private readonly maxTableSize: number;
  private readonly hardListLimit: number;
  private scratch: Latin1Buffer = Buffer.allocUnsafe(256) as Latin1Buffer;
  private failed = false;

  constructor(opts: HpackDecoderOptions = {}) {
    this.maxTableSize = opts.maxTableSize ?? 4096;
    this.hardListLimit = opts.hardListLimit ?? 1024 * 1024;
    this.table = new DynamicTable(opts.initialTableSize ?? PROTOCOL_INITIAL_TABLE_SIZE);
  }

  /** The dynamic table's entries, newest first (tests and diagnostics). */
  dynamicEntries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (let i = 0; i < this.table.length; i++) out.push([this.table.name(i), this.table.value(i)]);
    return out;
  }

  /** The dynamic table's §4.1 size and current maximum. */
  get dynamicTableSize(): number {
    return this.table.size;
  }

  get dynamicTableMaxSize(): number {
    return this.table.maxSize;
  }

  decode(block: Uint8Array): DecodedBlock {
    if (this.failed) throw compressionError('decoder is unusable after an earlier error');
    try {
      return this.decodeBlock(asBuffer(block));
    } catch (err) {
      this.failed = true;
      throw err;
    }
  }

  private decodeBlock(buf: Latin1Buffer): DecodedBlock {
    const end = buf.length;
    const fields: string[] = [];
    let listSize = 0;
    let sizeUpdates = 0;
    this.pos = 0;
    while (this.pos < end) {
      const b = buf[this.pos] as number;
      let name: string;
      let value: string;
      if (b >= 0x80) {
        // §6.1 indexed field.
        const index = readInteger(buf, this, end, 7);
        name = this.nameAt(index);
        value = index <= STATIC_TABLE_LENGTH ? (STATIC_VALUES[index] as string) : this.table.value(index - STATIC_TABLE_LENGTH - 1);
      } else if (b >= 0x40) {
        // §6.2.1 literal with incremental indexing.
        const index = readInteger(buf, this, end, 6);
        name = index === 0 ? this.readString(buf, end) : this.nameAt(index);
        value = this.readString(buf, end);
        this.table.add(name, value);
      } else if (b >= 0x20) {
        // §6.3 dynamic table size update: only at the start of a block, at most two (§4.2).
        if (fields.length > 0) throw compressionError('dynamic table size update after a field');
        if (++sizeUpdates > 2) throw compressionError('more than two dynamic table size updates');
        const size = readInteger(buf, this, end, 5);
        if (size > this.maxTableSize) throw compressionError(`dynamic table size update ${size} exceeds our limit ${this.maxTableSize}`);
        this.table.setMaxSize(size);
        continue;
      } else {
        // §6.2.2 without indexing (0000), §6.2.3 never indexed (0001): same for a decoder.
        const index = readInteger(buf, this, end, 4);
        name = index === 0 ? this.readString(buf, end) : this.nameAt(index);
        value = this.readString(buf, end);
      }
      fields.push(name, value);
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize > this.hardListLimit) throw new HpackError('HEADER_LIST_TOO_LARGE', `header list size passes ${this.hardListLimit}`);
    }
    return { fields, listSize };
  }

  private nameAt(index: number): string {
    if (index === 0) throw compressionError('index 0');
    if (index <= STATIC_TABLE_LENGTH) return STATIC_NAMES[index] as string;
    const i = index - STATIC_TABLE_LENGTH - 1;
    if (i >= this.table.length) throw compressionError(`index ${index} is beyond the static and dynamic tables`);
    return this.table.name(i);
  }

  /** §5.2 string literal at `pos`. */
  private readString(buf: Latin1Buffer, end: number): string {
    if (this.pos >= end) throw compressionError('truncated block: a string is missing');
    const huffman = (buf[this.pos] as number) >= 0x80;
    const len = readInteger(buf, this, end, 7);
    const start = this.pos;
    if (len > end - start) throw compressionError(`string length ${len} runs past the block`);
    this.pos = start + len;
    if (!huffman) return buf.latin1Slice(start, start + len);
    const room = maxHuffmanDecodedLength(len);
    let out = this.scratch;
    if (room > out.length) {
      out = Buffer.allocUnsafe(room) as Latin1Buffer;
      // Keep a larger scratch only up to a bound: one huge field must not pin memory for the
      // connection's lifetime.
      if (room <= MAX_KEPT_SCRATCH) this.scratch = out;
    }
    const n = huffmanDecode(buf, start, start + len, out);
    if (n < 0) throw compressionError(n === HUFFMAN_EOS ? 'Huffman string contains EOS' : 'Huffman padding is longer than 7 bits or not all ones');
    return out.latin1Slice(0, n);
  }
}
