// A per-call memo from ASCII words to their token ids, looked up by the word's position in the
// source text: a repeated word costs one hash over its characters, with no substring, no lowercase
// copy and no Map hashing of a fresh string. Real text repeats its words a lot.

const EMPTY = '';
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

export class AsciiWordCache<V> {
  private keys: string[];
  private hashes: Int32Array;
  private values: (V | undefined)[];
  private mask: number;
  private count = 0;
  private readonly lower: boolean;
  private readonly maxEntries: number;

  /** `lower`: words are keyed (and made) in lowercase, A-Z folded. Past `maxEntries`, new words are not kept. */
  constructor(lower: boolean, maxEntries: number) {
    this.lower = lower;
    this.maxEntries = maxEntries;
    this.keys = new Array<string>(1024).fill(EMPTY);
    this.hashes = new Int32Array(1024);
    this.values = new Array<V | undefined>(1024).fill(undefined);
    this.mask = 1023;
  }

  /**
   * The value for the word `src.slice(start, end)` (lowercased if asked); on a miss, `make(word)`
   * is called once and remembered. Every char of the range must be ASCII and the range non-empty.
   */
  get(src: string, start: number, end: number, make: (word: string) => V): V {
    const lower = this.lower;
    let h = FNV_OFFSET;
    for (let i = start; i < end; i++) {
      let c = src.charCodeAt(i);
      if (lower && c >= 65 && c <= 90) c += 32;
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    const len = end - start;
    let slot = h & this.mask;
    for (let k = this.keys[slot]; k !== EMPTY; k = this.keys[slot]) {
      if (this.hashes[slot] === h && k.length === len && this.matches(k, src, start)) return this.values[slot] as V;
      slot = (slot + 1) & this.mask;
    }
    let word = src.slice(start, end);
    if (lower) word = word.toLowerCase();
    const value = make(word);
    if (this.count < this.maxEntries) {
      this.keys[slot] = word;
      this.hashes[slot] = h;
      this.values[slot] = value;
      if (++this.count * 2 > this.keys.length) this.grow();
    }
    return value;
  }

  private matches(k: string, src: string, start: number): boolean {
    const lower = this.lower;
    for (let j = 0; j < k.length; j++) {
      let c = src.charCodeAt(start + j);
      if (lower && c >= 65 && c <= 90) c += 32;
      if (k.charCodeAt(j) !== c) return false;
    }
    return true;
  }

  private grow(): void {
    const { keys, hashes, values } = this;
    const size = keys.length * 2;
    this.keys = new Array<string>(size).fill(EMPTY);
    this.hashes = new Int32Array(size);
    this.values = new Array<V | undefined>(size).fill(undefined);
    this.mask = size - 1;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === EMPTY) continue;
      let slot = hashes[i] & this.mask;
      while (this.keys[slot] !== EMPTY) slot = (slot + 1) & this.mask;
      this.keys[slot] = keys[i];
      this.hashes[slot] = hashes[i];
      this.values[slot] = values[i];
    }
  }
}
