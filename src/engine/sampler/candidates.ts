// The working set a sampler chain transforms, as llama.cpp's llama_token_data_array: parallel arrays of
// token ids, logits and probabilities, a live size, a sorted flag and the selected position. One object is
// reused from step to step so a full-vocabulary pass allocates nothing once the buffers have grown.

const KEY_POS_BITS = 21; // positions below 2^21 (2M tokens) fit beside 32 key bits in a double's 53
const KEY_POS_SCALE = 2 ** KEY_POS_BITS;
const BUCKETS = 1024;
/** From this size a full sort is a radix sort of the 32-bit keys (three 11-bit passes, stable). */
const RADIX_MIN = 4096;
const radixCount = new Int32Array(2048);

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** A key that sorts ascending in descending-logit order (IEEE-754 bits flipped into unsigned order). */
function descendingKey(logit: number): number {
  f32[0] = logit === 0 ? 0 : logit; // -0 and +0 compare equal, so give them one key
  const u = u32[0];
  const asc = u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
  return 0xffffffff - asc;
}

export class Candidates {
  ids = new Int32Array(0);
  logits = new Float32Array(0);
  /** Probabilities, valid only right after a sampler computed them (softmax, dist). */
  probs = new Float32Array(0);
  size = 0;
  /** Positions 0..size-1 are in descending logit order; ties keep their earlier position first. */
  sorted = false;
  /** ids[i] === i for every live position: true after load(), cleared by anything that moves entries. */
  identity = false;
  /** Position (not token id) of the chosen candidate; -1 until a selecting sampler ran. */
  selected = -1;

  private tmpIds = new Int32Array(0);
  private tmpLogits = new Float32Array(0);
  private tmpProbs = new Float32Array(0);
  private order = new Int32Array(0);
  private keys = new Float64Array(0);
  private mark = new Uint8Array(0);
  private radixA = new Uint32Array(0);
  private radixB = new Uint32Array(0);
  private radixIdx = new Int32Array(0);
  private readonly hist = new Float64Array(BUCKETS);

  /** Convenience for tests and one-off use: candidates over a fresh copy of `logits`. */
  static from(logits: ArrayLike<number>): Candidates {
    const c = new Candidates();
    c.load(logits);
    return c;
  }

  /** Fills the set with every token of a full-vocabulary logits vector (ids 0..n-1). NaN becomes -Inf. */
  load(logits: ArrayLike<number>): void {
    const n = logits.length;
    this.reserve(n);
    const ids = this.ids;
    const out = this.logits;
    for (let i = 0; i < n; i++) {
      const x = logits[i];
      ids[i] = i;
      out[i] = x === x ? x : -Infinity;
    }
    this.size = n;
    this.sorted = false;
    this.identity = true;
    this.selected = -1;
  }

  /** Token id at the selected position. */
  selectedToken(): number {
    if (this.selected < 0 || this.selected >= this.size) throw new RangeError('no candidate selected');
    return this.ids[this.selected];
  }

  /** Largest live logit (-Inf when empty). */
  maxLogit(): number {
    if (this.sorted && this.size > 0) return this.logits[0];
    let m = -Infinity;
    for (let i = 0; i < this.size; i++) if (this.logits[i] > m) m = this.logits[i];
    return m;
  }

  /**
   * Fills probs[0..size) with the softmax of the live logits (optionally sorting first), as llama.cpp's
   * llama_sampler_softmax_impl. When every logit is -Inf the distribution is uniform.
   */
  softmax(sort: boolean): void {
    if (sort && !this.sorted) this.sortAll();
    const n = this.size;
    const max = this.maxLogit();
    const logits = this.logits;
    const probs = this.probs;
    if (max === -Infinity) {
      for (let i = 0; i < n; i++) probs[i] = 1 / n;
      return;
    }
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const p = Math.exp(logits[i] - max);
      probs[i] = p;
      sum += probs[i];
    }
    for (let i = 0; i < n; i++) probs[i] /= sum;
  }

  /**
   * Moves at least the k best candidates (descending logit, earlier position first on ties) to the front
   * in order and returns how many leading positions are now sorted (>= min(k, size)); the rest stay live
   * behind them. k >= size sorts everything.
   */
  sortTop(k: number): number {
    return this.sortPrefix(k, null);
  }

  /**
   * Like sortTop, but sorts enough of the front to hold probability mass `mass` according to probs
   * (which must be current). Rounding can leave the sorted prefix slightly short of `mass`; callers
   * that walk past the returned length call sortTop(size).
   */
  sortTopMass(mass: number): number {
    return this.sortPrefix(mass, this.probs);
  }

  /**
   * Bucket partial sort (llama.cpp does the same for large k): histogram the live logits into buckets
   * below the maximum, take whole buckets from the top until their count (or probability mass) reaches
   * the target, and sort only those. O(n + m log m) for m selected instead of O(n log n).
   */
  private sortPrefix(target: number, weights: Float32Array | null): number {
    const n = this.size;
    if (this.sorted || n <= 1) {
      this.sorted = true;
      return n;
    }
    if ((weights === null && target >= n) || n >= KEY_POS_SCALE) return this.sortAll();
    if (target <= 0) return 0;
    const logits = this.logits;
    let hi = -Infinity;
    let lo = Infinity;
    for (let i = 0; i < n; i++) {
      const x = logits[i];
      if (x > hi) hi = x;
      if (x < lo && x !== -Infinity) lo = x;
    }
    if (!(hi > lo) || !Number.isFinite(hi)) return this.sortAll();
    const nb = BUCKETS;
    const scale = nb / (hi - lo);
    const hist = this.hist;
    hist.fill(0);
    for (let i = 0; i < n; i++) {
      const b = Math.min(nb - 1, Math.floor((hi - logits[i]) * scale)); // -Inf lands in the last bucket
      hist[b] += weights === null ? 1 : weights[i];
    }
    let cut = 0;
    let acc = 0;
    for (; cut < nb - 1; cut++) {
      acc += hist[cut];
      if (acc >= target) break;
    }
    if (cut === nb - 1) return this.sortAll();
    this.reserveScratch(n);
    const keys = this.keys;
    let m = 0;
    for (let i = 0; i < n; i++) {
      if (Math.min(nb - 1, Math.floor((hi - logits[i]) * scale)) <= cut) {
        keys[m++] = descendingKey(logits[i]) * KEY_POS_SCALE + i;
      }
    }
    if (m >= n) return this.sortAll();
    const order = this.order;
    const chosen = keys.subarray(0, m);
    chosen.sort();
    const mark = this.mark;
    mark.fill(0, 0, n);
    for (let i = 0; i < m; i++) {
      const pos = chosen[i] % KEY_POS_SCALE;
      order[i] = pos;
      mark[pos] = 1;
    }
    let j = m;
    for (let i = 0; i < n; i++) if (mark[i] === 0) order[j++] = i;
    this.permute(order, n);
    this.identity = false;
    return m;
  }

  /** Rearranges the live entries as order[0..m) (positions into the current arrays); size becomes m. */
  permute(order: Int32Array, m: number): void {
    const ids = this.ids, logits = this.logits, probs = this.probs;
    const ti = this.tmpIds, tl = this.tmpLogits, tp = this.tmpProbs;
    let same = true;
    for (let i = 0; i < m; i++) {
      const src = order[i];
      if (src !== i) same = false;
      ti[i] = ids[src];
      tl[i] = logits[src];
      tp[i] = probs[src];
    }
    this.size = m;
    if (same) return;
    this.tmpIds = ids; this.ids = ti;
    this.tmpLogits = logits; this.logits = tl;
    this.tmpProbs = probs; this.probs = tp;
    this.identity = false;
  }

  /** Scratch index buffer of at least n entries (for samplers that build their own order). */
  scratchOrder(n: number): Int32Array {
    this.reserveScratch(n);
    return this.order;
  }

  private sortAll(): number {
    const n = this.size;
    this.reserveScratch(n);
    const order = this.order;
    const logits = this.logits;
    if (n >= RADIX_MIN) {
      this.radixOrder(n);
    } else if (n < KEY_POS_SCALE) {
      // Sorting packed numeric keys is several times faster than a comparator over 100k+ entries.
      const keys = this.keys.subarray(0, n);
      for (let i = 0; i < n; i++) keys[i] = descendingKey(logits[i]) * KEY_POS_SCALE + i;
      keys.sort();
      for (let i = 0; i < n; i++) order[i] = keys[i] % KEY_POS_SCALE;
    } else {
      for (let i = 0; i < n; i++) order[i] = i;
      order.subarray(0, n).sort((a, b) => (logits[a] !== logits[b] ? logits[b] - logits[a] : a - b));
    }
    this.permute(order, n);
    this.sorted = true;
    return n;
  }

  /**
   * order[0..n) = positions in ascending descendingKey order, ties by position: an LSD radix sort (stable, so the
   * positions' own order breaks ties, as the packed keys do), O(n) where a comparison sort of 150k entries is not.
   */
  private radixOrder(n: number): void {
    if (this.radixA.length < n) {
      this.radixA = new Uint32Array(this.order.length);
      this.radixB = new Uint32Array(this.order.length);
      this.radixIdx = new Int32Array(this.order.length);
    }
    const logits = this.logits;
    let srcK = this.radixA, dstK = this.radixB;
    let srcI = this.order, dstI = this.radixIdx;
    for (let i = 0; i < n; i++) {
      srcK[i] = descendingKey(logits[i]);
      srcI[i] = i;
    }
    const count = radixCount;
    for (let shift = 0; shift < 32; shift += 11) {
      const mask = shift === 22 ? 0x3ff : 0x7ff;
      count.fill(0, 0, mask + 1);
      for (let i = 0; i < n; i++) count[(srcK[i] >>> shift) & mask]++;
      let at = 0;
      for (let d = 0; d <= mask; d++) {
        const k = count[d];
        count[d] = at;
        at += k;
      }
      for (let i = 0; i < n; i++) {
        const key = srcK[i];
        const to = count[(key >>> shift) & mask]++;
        dstK[to] = key;
        dstI[to] = srcI[i];
      }
      [srcK, dstK] = [dstK, srcK];
      [srcI, dstI] = [dstI, srcI];
    }
    if (srcI !== this.order) this.order.set(srcI.subarray(0, n));
  }

  private reserve(n: number): void {
    if (this.ids.length >= n) return;
    this.ids = new Int32Array(n);
    this.logits = new Float32Array(n);
    this.probs = new Float32Array(n);
    this.tmpIds = new Int32Array(n);
    this.tmpLogits = new Float32Array(n);
    this.tmpProbs = new Float32Array(n);
  }

  private reserveScratch(n: number): void {
    if (this.order.length >= n) return;
    const cap = Math.max(n, this.ids.length);
    this.order = new Int32Array(cap);
    this.keys = new Float64Array(cap);
    this.mark = new Uint8Array(cap);
  }
}
