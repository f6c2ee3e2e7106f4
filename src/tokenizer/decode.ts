// Turning token pieces back into text: byte assembly, llama.cpp's clean-up of spaces before
// punctuation, and a streaming decoder that holds back incomplete UTF-8 sequences.
import type { StreamDecoder } from './types.ts';

/** Grows a byte buffer as pieces are appended. */
export class ByteSink {
  buf = new Uint8Array(256);
  n = 0;
  push(p: Uint8Array, skip = 0): void {
    const k = p.length - skip;
    if (k <= 0) return;
    if (this.n + k > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.n + k) cap *= 2;
      const b = new Uint8Array(cap);
      b.set(this.buf.subarray(0, this.n));
      this.buf = b;
    }
    if (k === 1) this.buf[this.n] = p[skip];
    else this.buf.set(skip ? p.subarray(skip) : p, this.n);
    this.n += k;
  }
  bytes(): Uint8Array { return this.buf.subarray(0, this.n); }
}

/**
 * llama.cpp's clean_up_tokenization_spaces passes over bytes, in place; returns the new length.
 * Removes " " before ?!., ; turns " ' " into "'"; removes " " before 's 'm 're 've.
 */
export function cleanSpaces(t: Uint8Array, n: number): number {
  const SP = 32, AP = 39;
  let total = n ? 1 : 0;
  const n1 = n;
  for (let i = 1; i < n1; i++) {
    const x = t[i];
    if (t[i - 1] === SP && (x === 63 || x === 33 || x === 46 || x === 44)) total--;
    t[total++] = x;
  }
  const n2 = total;
  total = total ? 1 : 0;
  for (let i = 1; i < n2; i++) {
    const x = t[i];
    if (x === AP && i + 1 < n2 && t[i - 1] === SP && t[i + 1] === SP) {
      total--;
      t[++i] = 0;
    }
    t[total++] = x;
  }
  const n3 = total;
  total = total ? 1 : 0;
  for (let i = 1; i < n3; i++) {
    const x = t[i];
    if (t[i - 1] === SP && x === AP && i + 1 < n3) {
      const x1 = t[i + 1];
      if (x1 === 115 /* s */ || x1 === 109 /* m */) total--;
      else if (x1 !== 116 && x1 !== 100 && i + 2 < n3) {
        const x2 = t[i + 2];
        if ((x1 === 114 && x2 === 101) || (x1 === 118 && x2 === 101)) total--; // 're 've
      }
    }
    t[total++] = x;
  }
  return total;
}

/** Streams token pieces to text; the UTF-8 decoder's stream mode holds back partial characters. */
export class PieceStreamDecoder implements StreamDecoder {
  private readonly dec = new TextDecoder('utf-8');
  private readonly pieceOf: (id: number) => Uint8Array;
  constructor(pieceOf: (id: number) => Uint8Array) {
    this.pieceOf = pieceOf;
  }
  push(id: number): string {
    const p = this.pieceOf(id);
    return p.length ? this.dec.decode(p, { stream: true }) : '';
  }
  flush(): string {
    return this.dec.decode();
  }
}
