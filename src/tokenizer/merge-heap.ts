// A binary max-heap of candidate merges kept in parallel typed arrays (no per-entry objects).
// Order: higher `key` first; equal keys: smaller `left` first. SPM uses the token score as key,
// BPE uses the negated merge rank, so both follow llama.cpp's priority_queue comparators.

export class MergeHeap {
  private key = new Float64Array(256);
  private left = new Int32Array(256);
  private right = new Int32Array(256);
  private size = new Int32Array(256);
  private n = 0;

  get length(): number { return this.n; }
  clear(): void { this.n = 0; }

  // Popped entry, valid until the next push/pop.
  topKey = 0;
  topLeft = 0;
  topRight = 0;
  topSize = 0;

  private before(i: number, j: number): boolean {
    const a = this.key[i], b = this.key[j];
    return a > b || (a === b && this.left[i] < this.left[j]);
  }

  private swap(i: number, j: number): void {
    const k = this.key[i]; this.key[i] = this.key[j]; this.key[j] = k;
    const l = this.left[i]; this.left[i] = this.left[j]; this.left[j] = l;
    const r = this.right[i]; this.right[i] = this.right[j]; this.right[j] = r;
    const s = this.size[i]; this.size[i] = this.size[j]; this.size[j] = s;
  }

  private grow(): void {
    const cap = this.key.length * 2;
    const k = new Float64Array(cap); k.set(this.key); this.key = k;
    const l = new Int32Array(cap); l.set(this.left); this.left = l;
    const r = new Int32Array(cap); r.set(this.right); this.right = r;
    const s = new Int32Array(cap); s.set(this.size); this.size = s;
  }

  push(key: number, left: number, right: number, size: number): void {
    if (this.n === this.key.length) this.grow();
    let i = this.n++;
    this.key[i] = key; this.left[i] = left; this.right[i] = right; this.size[i] = size;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Removes the best entry into topKey/topLeft/topRight/topSize. Call only when length > 0. */
  pop(): void {
    this.topKey = this.key[0];
    this.topLeft = this.left[0];
    this.topRight = this.right[0];
    this.topSize = this.size[0];
    const last = --this.n;
    if (last === 0) return;
    this.key[0] = this.key[last]; this.left[0] = this.left[last];
    this.right[0] = this.right[last]; this.size[0] = this.size[last];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const c = r < last && this.before(r, l) ? r : l;
      if (!this.before(c, i)) break;
      this.swap(c, i);
      i = c;
    }
  }
}
