// The grammar sampler over real vocabularies (stories260K's 512-token SPM with byte fallback, Llama 3's
// 128k byte-level BPE): greedy generation from random logits under json.gbnf always yields JSON, and the
// trie-walk mask allows exactly the tokens whose bytes the slow reference matcher accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadTokenizer } from '../../../tokenizer/load.ts';
import type { Tokenizer } from '../../../tokenizer/types.ts';
import { isHearthError } from '../../../util/errors.ts';
import { Mt19937 } from '../mt19937.ts';
import { parseGbnf, type Grammar } from './parse.ts';
import { grammarVocab, type GrammarVocab } from './vocab.ts';
import { GrammarSampler } from './grammar-sampler.ts';
import { ReferenceMatcher } from './reference.ts';

const SHARED = process.env.HEARTH_SHARED ?? resolve(import.meta.dirname, '../../../../../shared');
const GRAMMARS = resolve(import.meta.dirname, '../../../../test/reference/node_modules/node-llama-cpp/llama/grammars');
const json = parseGbnf(readFileSync(resolve(GRAMMARS, 'json.gbnf'), 'utf8'));

let stories: Tokenizer | undefined, llama3: Tokenizer | undefined;
const storiesTok = (): Tokenizer => (stories ??= loadTokenizer(resolve(SHARED, 'models/stories260K.gguf')));
const llama3Tok = (): Tokenizer => (llama3 ??= loadTokenizer(resolve(SHARED, 'tokenizers/llama3/tokenizer.json')));

/** The slow twin of mask(): every token's bytes fed one by one to the reference matcher. */
function referenceAllowed(ref: ReferenceMatcher, v: GrammarVocab): boolean[] {
  return v.pieces.map((p, id) => {
    if (v.eog.has(id)) return ref.complete;
    if (!p || p.length === 0) return false;
    return ref.clone().pushBytes(p);
  });
}

function assertMaskMatchesReference(s: GrammarSampler, ref: ReferenceMatcher, v: GrammarVocab, where: string): void {
  const logits = new Float32Array(v.pieces.length);
  s.mask(logits);
  const want = referenceAllowed(ref, v);
  for (let id = 0; id < want.length; id++) {
    if ((logits[id] === 0) !== want[id]) {
      assert.fail(`${where}: token ${id} ${JSON.stringify(v.pieces[id] && new TextDecoder().decode(v.pieces[id]!))} mask ${logits[id] === 0 ? 'allows' : 'rejects'} it, the reference ${want[id] ? 'accepts' : 'rejects'} it`);
    }
  }
}

/**
 * Greedy decoding under the grammar from random logits, nudged towards closing brackets, quotes and
 * EOG as it goes on so that documents end. Returns the text, or undefined when it ran out of steps.
 */
function generate(g: Grammar, v: GrammarVocab, rng: Mt19937, maxSteps: number, drift: number, check?: (s: GrammarSampler, ref: ReferenceMatcher, step: number) => void): string | undefined {
  const s = new GrammarSampler(g, v);
  const ref = new ReferenceMatcher(g);
  // +1 for closing } or ], -1 per opening { [ or comma, +3 for an odd number of quotes (one that ends
  // a string): longer runs drift towards the end of the document.
  const closes = v.pieces.map((p) => {
    if (!p) return 0;
    let w = 0, q = 0, c = 0;
    for (const b of p) {
      if (b === 0x7d || b === 0x5d) c = 1;
      else if (b === 0x7b || b === 0x5b || b === 0x2c) w--;
      else if (b === 0x22) q++;
    }
    return c + w + 3 * (q & 1);
  });
  const out: number[] = [];
  const logits = new Float32Array(v.pieces.length);
  for (let step = 0; step < maxSteps; step++) {
    check?.(s, ref, step);
    for (let i = 0; i < logits.length; i++) logits[i] = rng.nextDouble() + step * drift * (closes[i] + (v.eog.has(i) ? 2 : 0));
    s.mask(logits);
    let best = -1;
    for (let i = 0; i < logits.length; i++) if (logits[i] > -Infinity && (best < 0 || logits[i] > logits[best])) best = i;
    assert.ok(best >= 0, 'the mask left no token');
    if (v.eog.has(best)) {
      assert.ok(s.complete && ref.complete);
      s.accept(best);
      const bytes = Uint8Array.from(out.flatMap((t) => [...v.pieces[t]!]));
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    }
    s.accept(best);
    assert.ok(ref.pushBytes(v.pieces[best]!), `token ${best} allowed by the mask, rejected by the reference`);
    out.push(best);
  }
  return undefined;
}


test('stories260K vocabulary: json.gbnf generations parse, every mask equals the reference', () => {
  const v = grammarVocab(storiesTok());
  assert.equal(grammarVocab(storiesTok()), v, 'built once per tokenizer');
  const rng = new Mt19937(1234);
  let finished = 0;
  for (let run = 0; run < 12; run++) {
    const text = generate(json, v, rng, 300, 1 / 60, (s, ref, step) => { if (run < 3) assertMaskMatchesReference(s, ref, v, `run ${run} step ${step}`); });
    if (text === undefined) continue;
    finished++;
    assert.equal(typeof JSON.parse(text), 'object', text);
  }
  assert.ok(finished >= 8, `only ${finished} of 12 generations finished`);
});

test('stories260K vocabulary: c, chess, json_arr, english, list — 100 unbiased random steps, every mask equals the reference', () => {
  const v = grammarVocab(storiesTok());
  for (const name of ['c', 'chess', 'json_arr', 'english', 'list']) {
    const g = parseGbnf(readFileSync(resolve(GRAMMARS, `${name}.gbnf`), 'utf8'));
    generate(g, v, new Mt19937(3), 100, 0, (s, ref, step) => assertMaskMatchesReference(s, ref, v, `${name} step ${step}`));
  }
});

test('stories260K vocabulary: japanese.gbnf needs characters split over byte tokens; masks equal the reference', () => {
  const v = grammarVocab(storiesTok());
  const g = parseGbnf(readFileSync(resolve(GRAMMARS, 'japanese.gbnf'), 'utf8'));
  const rng = new Mt19937(7);
  let finished = 0;
  for (let run = 0; run < 4; run++) {
    const text = generate(g, v, rng, 60, 1 / 40, (s, ref, step) => assertMaskMatchesReference(s, ref, v, `run ${run} step ${step}`));
    if (text === undefined) continue;
    finished++;
    assert.match(text, /^[\u3040-\u30ff\u3001-\u303e\u4e00-\u9fff]+([ \t\n][\u3040-\u30ff\u3001-\u303e\u4e00-\u9fff]+)*$/u, text);
  }
  assert.ok(finished >= 2, `only ${finished} of 4 generations finished`);
});

test('stories260K: multi-byte characters from byte tokens; rejected tokens throw; EOG only when complete', () => {
  const tok = storiesTok();
  const v = grammarVocab(tok);
  const g = parseGbnf('root ::= "☃" [a-z]+');
  const s = new GrammarSampler(g, v);
  const byte = (b: number): number => tok.tokenId(`<0x${b.toString(16).toUpperCase()}>`);
  const logits = new Float32Array(v.pieces.length);
  s.mask(logits);
  const allowed = [...logits.keys()].filter((i) => logits[i] === 0);
  assert.deepEqual(allowed, [byte(0xe2)], 'only the first byte of ☃');
  assert.throws(() => s.clone().accept(byte(0xe3)), (e) => isHearthError(e, 'internal'));
  assert.throws(() => s.clone().accept(tok.eosId), (e) => isHearthError(e, 'internal'));
  for (const b of [0xe2, 0x98, 0x83]) s.accept(byte(b));
  logits.fill(0);
  s.mask(logits);
  assert.equal(logits[tok.eosId], -Infinity);
  s.accept(tok.tokenId('a'));
  logits.fill(0);
  s.mask(logits);
  assert.equal(logits[tok.eosId], 0);
  assert.ok(s.complete && !s.done);
  // Control tokens (BOS) are never allowed; logits past the vocabulary are masked too.
  const wide = new Float32Array(v.pieces.length + 3);
  s.mask(wide);
  assert.equal(wide[tok.bosId], -Infinity);
  assert.deepEqual([...wide.subarray(v.pieces.length)], [-Infinity, -Infinity, -Infinity]);
});

test('Llama 3 vocabulary (128k byte-level BPE): json.gbnf generations parse, masks equal the reference', () => {
  const v = grammarVocab(llama3Tok());
  const rng = new Mt19937(99);
  let finished = 0;
  for (let run = 0; run < 4; run++) {
    const text = generate(json, v, rng, 80, 1 / 8, (s, ref, step) => { if (run === 0 && step % 6 === 0) assertMaskMatchesReference(s, ref, v, `step ${step}`); });
    if (text === undefined) continue;
    finished++;
    assert.equal(typeof JSON.parse(text), 'object', text);
  }
  assert.ok(finished >= 3, `only ${finished} of 4 generations finished`);
});

test('GGUF byte-level BPE vocabulary (gpt-2): pieces are raw bytes; arithmetic.gbnf masks equal the reference', () => {
  const tok = loadTokenizer(resolve(SHARED, 'vocab/ggml-vocab-gpt-2.gguf'));
  const v = grammarVocab(tok);
  assert.deepEqual(v.pieces[tok.tokenId('\u0120the')], new TextEncoder().encode(' the'));
  assert.deepEqual(v.pieces[tok.tokenId('\u00e2\u0122')], Uint8Array.of(0xe2, 0x80), 'half a character');
  const g = parseGbnf(readFileSync(resolve(GRAMMARS, 'arithmetic.gbnf'), 'utf8'));
  const rng = new Mt19937(5);
  generate(g, v, rng, 24, 1 / 8, (s, ref, step) => { if (step % 4 === 0) assertMaskMatchesReference(s, ref, v, `step ${step}`); });
});
