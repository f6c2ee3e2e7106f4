import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { loadTokenizer } from '../../tokenizer/load.ts';
import type { Tokenizer } from '../../tokenizer/types.ts';
import { Candidates } from './candidates.ts';
import { DrySampler, dryBreakers, dryVocab, type DryBreakers, type DryOptions } from './dry.ts';

const SHARED = process.env.HEARTH_SHARED ?? resolve(import.meta.dirname, '../../../../shared');
let stories: Tokenizer | undefined;
const storiesTok = (): Tokenizer => (stories ??= loadTokenizer(resolve(SHARED, 'models/stories260K.gguf')));

const f = Math.fround;

function breakersOf(list: number[][]): DryBreakers {
  const m = new Map<number, Int32Array[]>();
  for (const [head, ...tail] of list) m.set(head, [...(m.get(head) ?? []), Int32Array.from(tail)]);
  return m;
}

function dry(o: Partial<DryOptions> & { history: number[] }): DrySampler {
  const s = new DrySampler({ multiplier: 1, base: 1.75, allowedLength: 2, lastN: -1, breakers: new Map(), ...o });
  for (const t of o.history) s.accept(t);
  return s;
}

/**
 * The definition, slowly: for every earlier position j of the window, the length n of the longest run ending at j
 * that equals the window's newest tokens (bounded by the most recent complete breaker); the token after j would
 * extend it, and gets multiplier * base^(n - allowed) when n >= allowed, unless it is a breaker alone.
 */
function dryReference(window: number[], logits: number[], o: { multiplier: number; base: number; allowedLength: number; breakers: number[][] }): number[] {
  const n = window.length;
  const out = logits.map((x) => f(x));
  if (n <= o.allowedLength) return out;
  const at = (i: number) => window[n - 1 - i]; // i-th newest
  let limit = n;
  search: for (let i = 0; i < n; i++) {
    let longest = -1;
    for (const [head, ...tail] of o.breakers) {
      if (head !== at(i) || tail.length > i || tail.length <= longest) continue;
      if (tail.every((t, k) => t === at(i - k - 1))) longest = tail.length;
    }
    if (longest >= 0) { limit = i - longest; break search; }
  }
  if (limit < o.allowedLength) return out;
  const best = new Map<number, number>();
  for (let j = 0; j < n - 1; j++) {
    let m = 0;
    while (j - m >= 0 && window[j - m] === window[n - 1 - m]) m++;
    const len = Math.min(m, limit);
    if (len >= o.allowedLength) best.set(window[j + 1], Math.max(best.get(window[j + 1]) ?? -1, len));
  }
  const single = new Set(o.breakers.filter((b) => b.length === 1).map((b) => b[0]));
  const base = f(o.base);
  const maxExp = base > 1.000001 ? Math.trunc(f(f(88.7228391) / f(Math.log(base)))) : 0;
  for (const [tok, len] of best) {
    if (tok >= out.length || single.has(tok)) continue;
    let e = len - o.allowedLength;
    if (maxExp > 0 && e > maxExp) e = maxExp;
    out[tok] = f(out[tok] - f(f(o.multiplier) * Math.pow(base, e)));
  }
  return out;
}

function softmax(xs: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(xs));
  const e = Array.from(xs, (x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

test('DRY penalises the token that would extend a repeat by multiplier * base^(length - allowed)', () => {
  // a b c c b c y a b c: "a b c" occurred before "c" (3 tokens), "b c" before "y" (2), "c" before "b" (1, allowed)
  const [a, b, c, y] = [0, 1, 2, 3];
  const s = dry({ history: [a, b, c, c, b, c, y, a, b, c], multiplier: 0.8, base: 2 });
  const cand = Candidates.from([0, 0, 0, 0, 0]);
  s.apply(cand);
  assert.deepEqual(Array.from(cand.logits), [0, 0, f(-0.8 * 2), f(-0.8), 0]);
});

test('DRY matches llama.cpp test-sampling cases', () => {
  const cases: [number[], number[], number[], number, number, number, number, number[][]][] = [
    [[0.25, 0.25, 0.25, 0.25], [0, 1], [0.25, 0.25, 0.25, 0.25], 1.0, 1.1, 2, 4, []],
    [[0.25, 0.25, 0.25, 0.25], [0, 1, 2, 0, 1], [0.296923, 0.296923, 0.109232, 0.296923], 1.0, 1.1, 2, 5, []],
    [[0.2, 0.2, 0.2, 0.2, 0.2], [0, 1, 3, 4, 0, 1], [0.2, 0.2, 0.2, 0.2, 0.2], 1.0, 1.1, 2, 6, [[3]]],
    [[0.2, 0.2, 0.2, 0.2, 0.2], [0, 1, 2, 0, 1], [0.241818, 0.241818, 0.032727, 0.241818, 0.241818], 2.0, 1.1, 2, 5, []],
    [[0.2, 0.2, 0.2, 0.2, 0.2], [0, 1, 2, 3, 4, 0, 1], [0.2, 0.2, 0.2, 0.2, 0.2], 1.0, 1.1, 4, 7, []],
  ];
  for (const [probs, history, expected, multiplier, base, allowedLength, lastN, breakers] of cases) {
    const s = dry({ history, multiplier, base, allowedLength, lastN, breakers: breakersOf(breakers) });
    const c = Candidates.from(probs.map(Math.log));
    s.apply(c);
    softmax(c.logits.subarray(0, c.size)).forEach((p, i) => assert.ok(Math.abs(p - expected[i]) < 1e-5, `${JSON.stringify(history)}: ${p} vs ${expected[i]}`));
  }
});

test('DRY: a breaker bounds the repeat; a single-token breaker is never penalised itself', () => {
  // 5 is a breaker: the repeat "0 1" before the newest "5 0 1" may not reach across it
  const s = dry({ history: [0, 1, 2, 5, 0, 1], multiplier: 1, base: 2, allowedLength: 1, breakers: breakersOf([[5]]) });
  const c = Candidates.from([0, 0, 0, 0, 0, 0]);
  s.apply(c);
  assert.deepEqual(Array.from(c.logits), [0, 0, -2, 0, 0, 0], '"0 1" → 2 is a repeat of length 2');
  const t = dry({ history: [5, 0, 7, 0], multiplier: 1, base: 2, allowedLength: 0, breakers: breakersOf([[7]]) });
  const d = Candidates.from(new Array(8).fill(0));
  t.apply(d);
  // "0" repeats (length 1, allowed 0): 7 would extend it but is a breaker by itself; the breaker limits nothing past it
  assert.equal(d.logits[7], 0);
});

test('DRY: multi-token breakers need their whole tail after the head', () => {
  const br = breakersOf([[8, 9]]);
  const open = dry({ history: [0, 1, 2, 8, 0, 1], multiplier: 1, base: 2, allowedLength: 2, breakers: br });
  const c = Candidates.from(new Array(10).fill(0));
  open.apply(c);
  assert.equal(c.logits[2], -1, '8 alone is no breaker');
  const closed = dry({ history: [0, 1, 2, 8, 9, 0, 1], multiplier: 1, base: 2, allowedLength: 2, breakers: br });
  const d = Candidates.from(new Array(10).fill(0));
  closed.apply(d);
  assert.equal(d.logits[2], -1, 'the breaker is older than the matched suffix "0 1": the repeat of length 2 stays');
  // the newest "8 9" bounds the repeat of "8 9 0 1" to the 2 tokens after it: 8 gets base^0, not base^2
  const cut = dry({ history: [8, 9, 0, 1, 8, 9, 0, 1], multiplier: 1, base: 2, allowedLength: 2, breakers: br });
  const e = Candidates.from(new Array(10).fill(0));
  cut.apply(e);
  assert.equal(e.logits[8], -1);
  const uncut = dry({ history: [8, 9, 0, 1, 8, 9, 0, 1], multiplier: 1, base: 2, allowedLength: 2 });
  const g = Candidates.from(new Array(10).fill(0));
  uncut.apply(g);
  assert.equal(g.logits[8], -4);
});

test('DRY over random histories equals the slow definition (Z-algorithm vs direct search), with windows and sorted candidates', () => {
  let seed = 7;
  const rand = (n: number) => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed % n; };
  for (let trial = 0; trial < 600; trial++) {
    const alphabet = 2 + rand(5);
    const len = rand(60);
    const history = Array.from({ length: len }, () => rand(alphabet));
    const breakers: number[][] = [];
    for (let b = rand(3); b > 0; b--) breakers.push(Array.from({ length: 1 + rand(3) }, () => rand(alphabet)));
    const lastN = [-1, 0, 1, 5, 16, 64][rand(6)];
    const o = { multiplier: [0.5, 1, 3][rand(3)], base: [1, 1.1, 1.75, 3][rand(4)], allowedLength: rand(4), breakers };
    const s = dry({ ...o, history, lastN, breakers: breakersOf(breakers) });
    const logits = Array.from({ length: alphabet + 1 }, () => rand(100) / 10 - 5);
    const window = lastN < 0 ? history : lastN === 0 ? [] : history.slice(-lastN);
    const want = lastN === 0 ? logits.map(f) : dryReference(window, logits, o);
    const c = Candidates.from(logits);
    s.apply(c);
    assert.deepEqual(Array.from(c.logits.subarray(0, c.size)), want, `trial ${trial}`);
    // the same on a set that is no longer position = id
    const d = Candidates.from(logits);
    d.sortTop(d.size);
    s.apply(d);
    const byId = new Array(d.size);
    for (let i = 0; i < d.size; i++) byId[d.ids[i]] = d.logits[i];
    assert.deepEqual(byId, want, `trial ${trial} sorted`);
  }
});

test('DRY clone carries the history; reset forgets it', () => {
  const s = dry({ history: [0, 1, 2, 0, 1], multiplier: 1, base: 2, allowedLength: 2 });
  const t = s.clone();
  const a = Candidates.from([0, 0, 0]);
  t.apply(a);
  assert.equal(a.logits[2], -1);
  s.reset();
  const b = Candidates.from([0, 0, 0]);
  s.apply(b);
  assert.deepEqual(Array.from(b.logits), [0, 0, 0]);
});

test('DRY sequence breakers from a vocabulary: tokens containing a breaker, and heads with tokenized tails', () => {
  const tok = storiesTok();
  const v = dryVocab(tok);
  assert.equal(dryVocab(tok), v, 'built once per tokenizer');
  const single = dryBreakers(v, ['\n', ':']);
  for (let id = 0; id < tok.vocabSize; id++) {
    const text = new TextDecoder().decode(v.piece(id));
    const want = text.includes('\n') || text.includes(':');
    const tails = single.get(id);
    assert.equal(tails !== undefined && tails.some((t) => t.length === 0), want, `token ${id} ${JSON.stringify(text)}`);
  }
  // a two-word breaker: a token whose text ends with a start of it is a head; its tail tokenizes the rest
  const breaker = 'Once upon';
  const multi = dryBreakers(v, [breaker]);
  const heads = [...multi.entries()].filter(([, ts]) => ts.some((t) => t.length > 0));
  assert.ok(heads.length > 0);
  for (const [head, ts] of heads) {
    const text = new TextDecoder().decode(v.piece(head));
    for (const t of ts.filter((x) => x.length > 0)) {
      const ok = [...breaker].some((_, cut) => cut > 0 && text.endsWith(breaker.slice(0, cut))
        && tok.encode(breaker.slice(cut), { addBos: false }).join() === Array.from(t).join());
      assert.ok(ok, `${JSON.stringify(text)} + ${Array.from(t)}`);
    }
  }
  const onceId = [...multi.keys()].find((id) => new TextDecoder().decode(v.piece(id)) === 'Once');
  assert.ok(onceId !== undefined, '"Once" heads the breaker');
});
