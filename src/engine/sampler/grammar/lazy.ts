// A lazy grammar: output is free until one of its trigger words appears in it, and from there on (the
// trigger's own text included) it must match the grammar. This is how llama.cpp holds tool calls to their
// syntax in "auto" mode: the model may answer in prose, but once it writes `<tool_call>` the call that
// follows is well formed.
import type { GrammarSampler } from './grammar-sampler.ts';
import type { GrammarVocab } from './vocab.ts';

/** Bytes as a string of code units 0..255, so byte strings can be searched with indexOf. */
function binary(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function bytesOf(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export class LazyGrammar {
  private readonly grammar: GrammarSampler;
  private readonly vocab: GrammarVocab;
  private readonly triggers: string[];
  private readonly longest: number;
  /** The output's last bytes while no trigger has been seen (enough to find one that spans tokens). */
  private tail = '';
  private on = false;

  constructor(grammar: GrammarSampler, vocab: GrammarVocab, triggers: readonly string[]) {
    this.grammar = grammar;
    this.vocab = vocab;
    const enc = new TextEncoder();
    this.triggers = triggers.filter((t) => t !== '').map((t) => binary(enc.encode(t)));
    this.longest = Math.max(0, ...this.triggers.map((t) => t.length));
  }

  /** Whether a trigger has been seen and the grammar applies. */
  get active(): boolean {
    return this.on;
  }

  mask(logits: Float32Array): void {
    if (this.on) this.grammar.mask(logits);
  }

  /** Advances past a generated token (not end-of-generation): through the grammar once on, else looking for a trigger. */
  accept(token: number): void {
    if (this.on) {
      this.grammar.accept(token);
      return;
    }
    const piece = this.vocab.pieces[token];
    if (!piece) return;
    this.tail += binary(piece);
    let at = -1;
    for (const t of this.triggers) {
      const i = this.tail.indexOf(t);
      if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    if (at >= 0 && this.grammar.acceptBytes(bytesOf(this.tail.slice(at)))) {
      this.on = true;
      this.tail = '';
      return;
    }
    // A trigger whose continuation in this token the grammar refuses does not switch it on.
    this.tail = this.tail.slice(at >= 0 ? at + 1 : Math.max(0, this.tail.length - this.longest + 1));
  }

  get complete(): boolean {
    return !this.on || this.grammar.complete;
  }

  get done(): boolean {
    return this.on && this.grammar.done;
  }
}
