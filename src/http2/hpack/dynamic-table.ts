/**
 * The HPACK dynamic table (RFC 7541 §2.3.2, §4): a FIFO of (name, value) in a ring buffer that
 * grows by doubling, sized per §4.1 (name octets + value octets + 32; names and values are latin1
 * strings, one char per octet). Relative index 0 is the newest entry. Every entry also has an id,
 * its insertion number (1, 2, ...), so the encoder can remember where a field went and find its
 * current index after later insertions: index = insertCount - id.
 */

export const ENTRY_OVERHEAD = 32;

export type EvictHook = (name: string, value: string, id: number) => void;

export class DynamicTable {
  private names: string[];
  private values: string[];
  private mask: number;
  /** Slot of the oldest entry. */
  private head = 0;
  /** Number of entries. */
  length = 0;
  /** §4.1 size of the entries. */
  size = 0;
  maxSize: number;
  /** Entries ever inserted: the id of the newest entry. */
  insertCount = 0;
  private readonly onEvict: EvictHook | undefined;

  constructor(maxSize: number, onEvict?: EvictHook) {
    this.maxSize = maxSize;
    this.onEvict = onEvict;
    this.names = new Array<string>(16).fill('');
    this.values = new Array<string>(16).fill('');
    this.mask = 15;
  }

  /** Name at relative index `i` (0 = newest); the caller checks `i < length`. */
  name(i: number): string {
    return this.names[(this.head + this.length - 1 - i) & this.mask] as string;
  }

  value(i: number): string {
    return this.values[(this.head + this.length - 1 - i) & this.mask] as string;
  }

  /**
   * Inserts (name, value) as the newest entry, evicting the oldest as needed (§4.4). Returns the
   * new entry's id, or 0 when the entry is larger than the table (which is then empty).
   */
  add(name: string, value: string): number {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.maxSize) {
      this.evictTo(0);
      return 0;
    }
    this.evictTo(this.maxSize - entrySize);
    if (this.length === this.names.length) this.grow();
    const slot = (this.head + this.length) & this.mask;
    this.names[slot] = name;
    this.values[slot] = value;
    this.length++;
    this.size += entrySize;
    return ++this.insertCount;
  }

  /** A new maximum size (§4.3, §6.3): evicts until the entries fit. */
  setMaxSize(n: number): void {
    this.maxSize = n;
    this.evictTo(n);
  }

  private evictTo(limit: number): void {
    while (this.size > limit && this.length > 0) {
      const slot = this.head;
      const name = this.names[slot] as string;
      const value = this.values[slot] as string;
      this.size -= name.length + value.length + ENTRY_OVERHEAD;
      // Drop references so evicted strings can be collected.
      this.names[slot] = '';
      this.values[slot] = '';
      this.head = (this.head + 1) & this.mask;
      this.length--;
      if (this.onEvict) this.onEvict(name, value, this.insertCount - this.length);
    }
  }

  private grow(): void {
    const cap = this.names.length * 2;
    const names = new Array<string>(cap).fill('');
    const values = new Array<string>(cap).fill('');
    for (let i = 0; i < this.length; i++) {
      const from = (this.head + i) & this.mask;
      names[i] = this.names[from] as string;
      values[i] = this.values[from] as string;
    }
    this.names = names;
    this.values = values;
    this.head = 0;
    this.mask = cap - 1;
  }
}
