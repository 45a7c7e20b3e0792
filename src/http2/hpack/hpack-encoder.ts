/**
 * HPACK encoder (RFC 7541 §6): a flat [name, value, ...] list (names already lowercase) to one
 * header block. Per field: an exact static-table match is an indexed field; an exact match in
 * our dynamic table is too; otherwise a literal, with the name's index when a table has it, and
 * with incremental indexing unless the field is sensitive or changes per message (nghttp2's
 * choices: never indexed for credentials and short cookies, not indexed for `:path`,
 * `content-length`, `etag` and the like, or for entries over 3/4 of the table; ours: request ids
 * and trace context are indexed once per name, for the name only). String literals
 * are Huffman-coded only when that is shorter. The block is built in a reused scratch buffer and
 * copied out once.
 */
import { DynamicTable, ENTRY_OVERHEAD } from './dynamic-table.js';
import { writeInteger } from './hpack-integer.js';
import { huffmanEncode, huffmanEncodeBefore, huffmanEncodedLength } from './huffman.js';
import { STATIC_BY_NAME, STATIC_TABLE_LENGTH } from './static-table.js';

/** The largest table we keep for the peer, whatever it allows (the memory we spend on it). */
export const ENCODER_TABLE_CAP = 4096;
/** The largest scratch buffer an encoder keeps between blocks. */
const MAX_KEPT_SCRATCH = 16 * 1024;

const INDEXED = 0x80;
const WITH_INDEXING = 0x40;
const SIZE_UPDATE = 0x20;
const NEVER = 0x10;
const WITHOUT_INDEXING = 0x00;
/** Never indexed when the value is shorter than {@link SHORT_COOKIE}, else with indexing. */
const COOKIE = -1;
/**
 * A value unique to each request (ids): the first field is indexed so that the name is in the
 * table; later ones take the name from there and are not indexed, since each new value would
 * evict a useful entry (and cost the table and lookup updates) without ever being used again.
 */
const NAME_ONCE = -2;
/** A cookie this short is guessable by probing the table (§7.1.3); nghttp2's threshold. */
const SHORT_COOKIE = 20;

/** What the encoder knows about a name: its static index (0: none), static values, indexing policy. */
interface KnownName {
  readonly index: number;
  readonly values: ReadonlyMap<string, number> | undefined;
  readonly policy: number;
}

/**
 * Credentials are never indexed (§7.1.3; an intermediary re-encoding them keeps that); fields
 * whose values rarely repeat are not indexed (they would only evict useful entries). All of
 * these names are in the static table, so one lookup gives index and policy.
 */
const POLICY: ReadonlyMap<string, number> = new Map([
  ['authorization', NEVER],
  ['proxy-authorization', NEVER],
  ['set-cookie', NEVER],
  ['cookie', COOKIE],
  [':path', WITHOUT_INDEXING],
  ['age', WITHOUT_INDEXING],
  ['content-length', WITHOUT_INDEXING],
  ['etag', WITHOUT_INDEXING],
  ['if-modified-since', WITHOUT_INDEXING],
  ['if-none-match', WITHOUT_INDEXING],
  ['location', WITHOUT_INDEXING],
]);

/** Per-request ids and trace context (mesh and tracing headers), see {@link NAME_ONCE}. */
const PER_REQUEST = ['x-request-id', 'traceparent', 'tracestate', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'b3', 'x-amzn-trace-id', 'x-cloud-trace-context', 'x-client-trace-id'];

const KNOWN: ReadonlyMap<string, KnownName> = new Map([
  ...[...STATIC_BY_NAME].map(([name, st]): [string, KnownName] => [name, { index: st.index, values: st.values, policy: POLICY.get(name) ?? WITH_INDEXING }]),
  ...PER_REQUEST.map((name): [string, KnownName] => [name, { index: 0, values: undefined, policy: NAME_ONCE }]),
]);

/** Per name: the id of the newest dynamic entry with it, and value → id. */
interface DynName {
  lastId: number;
  readonly byValue: Map<string, number>;
}

interface Latin1Buffer extends Buffer {
  latin1Write(s: string, offset: number, length: number): number;
}

export class HpackEncoder {
  private readonly byName = new Map<string, DynName>();
  private readonly table: DynamicTable;
  private scratch: Latin1Buffer = Buffer.allocUnsafe(1024) as Latin1Buffer;
  /** The smallest size set since the last block, when it differs from the table's (§4.2). */
  private pendingMin = -1;
  private pendingSize = -1;

  constructor() {
    this.table = new DynamicTable(ENCODER_TABLE_CAP, (name, value, id) => this.forget(name, value, id));
  }

  setPeerMaxTableSize(n: number): void {
    const size = Math.min(n, ENCODER_TABLE_CAP);
    if (this.pendingSize < 0) {
      if (size === this.table.maxSize) return;
      this.pendingMin = size;
    } else this.pendingMin = Math.min(this.pendingMin, size);
    this.pendingSize = size;
  }

  encode(fields: readonly string[]): Buffer {
    // Worst case per field: a 6-byte integer before each string, the strings raw.
    let room = 12;
    for (let i = 0; i < fields.length; i++) room += (fields[i] as string).length + 8;
    let buf = this.scratch;
    if (room > buf.length) {
      buf = Buffer.allocUnsafe(room) as Latin1Buffer;
      // As in the decoder: a rare huge block does not pin its scratch for the connection.
      if (room <= MAX_KEPT_SCRATCH) this.scratch = buf;
    }
    let pos = 0;
    if (this.pendingSize >= 0) {
      if (this.pendingMin < this.pendingSize) {
        pos = writeInteger(buf, pos, this.pendingMin, 5, SIZE_UPDATE);
        this.table.setMaxSize(this.pendingMin);
      }
      pos = writeInteger(buf, pos, this.pendingSize, 5, SIZE_UPDATE);
      this.table.setMaxSize(this.pendingSize);
      this.pendingSize = this.pendingMin = -1;
    }
    for (let i = 0; i + 1 < fields.length; i += 2) pos = this.field(buf, pos, fields[i] as string, fields[i + 1] as string);
    const out = Buffer.allocUnsafe(pos);
    // A typical block is a few dozen bytes: a plain loop beats the native copy's call overhead.
    if (pos <= 64) for (let i = 0; i < pos; i++) out[i] = buf[i] as number;
    else buf.copy(out, 0, 0, pos);
    return out;
  }

  private field(buf: Latin1Buffer, pos: number, name: string, value: string): number {
    const known = KNOWN.get(name);
    let policy = WITH_INDEXING;
    if (known !== undefined) {
      if (known.values !== undefined) {
        const index = known.values.get(value);
        if (index !== undefined) return writeInteger(buf, pos, index, 7, INDEXED);
      }
      policy = known.policy;
      if (policy === COOKIE) policy = value.length < SHORT_COOKIE ? NEVER : WITH_INDEXING;
    }
    const table = this.table;
    const dyn = this.byName.get(name);
    if (policy === NAME_ONCE) policy = dyn === undefined ? WITH_INDEXING : WITHOUT_INDEXING;
    if (policy !== NEVER) {
      if (dyn !== undefined) {
        const id = dyn.byValue.get(value);
        if (id !== undefined) return writeInteger(buf, pos, STATIC_TABLE_LENGTH + 1 + table.insertCount - id, 7, INDEXED);
      }
      if (policy === WITH_INDEXING && name.length + value.length + ENTRY_OVERHEAD > (table.maxSize * 3) / 4) policy = WITHOUT_INDEXING;
    }
    const nameIndex = known !== undefined && known.index !== 0 ? known.index : dyn !== undefined ? STATIC_TABLE_LENGTH + 1 + table.insertCount - dyn.lastId : 0;
    pos = writeInteger(buf, pos, nameIndex, policy === WITH_INDEXING ? 6 : 4, policy);
    if (nameIndex === 0) pos = writeString(buf, pos, name);
    pos = writeString(buf, pos, value);
    if (policy === WITH_INDEXING) {
      const id = table.add(name, value);
      if (id !== 0) {
        // add() may have evicted this name's entries (and its DynName) first: look again.
        let d = this.byName.get(name);
        if (d === undefined) this.byName.set(name, (d = { lastId: id, byValue: new Map() }));
        d.lastId = id;
        d.byValue.set(value, id);
      }
    }
    return pos;
  }

  /** Eviction hook: drops what pointed at the evicted entry. */
  private forget(name: string, value: string, id: number): void {
    const d = this.byName.get(name);
    if (d === undefined) return;
    if (d.byValue.get(value) === id) d.byValue.delete(value);
    // FIFO eviction: when the newest entry with this name goes, every older one went before.
    if (d.lastId === id) this.byName.delete(name);
  }
}

/** §5.2 string literal: Huffman when strictly shorter. */
function writeString(buf: Latin1Buffer, pos: number, s: string): number {
  const len = s.length;
  if (len > 0 && len < 127) {
    // Both forms take a 1-byte length: encode once after it, giving up where raw is as short.
    const end = huffmanEncodeBefore(s, buf, pos + 1, pos + 1 + len - 1);
    if (end >= 0) {
      buf[pos] = 0x80 | (end - pos - 1);
      return end;
    }
    buf[pos++] = len;
    return writeLatin1(buf, pos, s);
  }
  const hlen = huffmanEncodedLength(s);
  if (hlen < len) {
    pos = writeInteger(buf, pos, hlen, 7, 0x80);
    return huffmanEncode(s, buf, pos);
  }
  return writeLatin1(buf, writeInteger(buf, pos, len, 7, 0), s);
}

function writeLatin1(buf: Latin1Buffer, pos: number, s: string): number {
  const len = s.length;
  if (len < 16) {
    for (let i = 0; i < len; i++) buf[pos + i] = s.charCodeAt(i);
  } else buf.latin1Write(s, pos, len);
  return pos + len;
}
