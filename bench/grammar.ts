// Cost of grammar-constrained sampling: GrammarSampler.mask() under json.gbnf on a large BPE vocabulary,
// at points of a JSON document (first visit of a matcher state: the trie walk; second: the cached mask).
// Usage: node bench/grammar.ts [tokenizer.json|gguf ...]   (default: ../shared llama3 and qwen3)
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { parseGbnf, grammarVocab, GrammarSampler } from '../src/engine/sampler/index.ts';

const shared = process.env.HEARTH_SHARED ?? resolve(import.meta.dirname, '../../shared');
const files = process.argv.slice(2).length ? process.argv.slice(2)
  : ['llama3', 'qwen3'].map((n) => resolve(shared, 'tokenizers', n, 'tokenizer.json'));
const json = readFileSync(resolve(import.meta.dirname, '../test/reference/node_modules/node-llama-cpp/llama/grammars/json.gbnf'), 'utf8');
const doc = '{"name": "Hearth", "tags": ["local", "llm"], "size": 12.5e3, "nested": {"ok": true, "note": "caf\u00e9 \u2603"}}';
const points = [0, 1, 3, 9, 20, 40, 70, doc.length];

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
for (const f of files) {
  let t0 = process.hrtime.bigint();
  const tok = loadTokenizer(f);
  const tLoad = ms(t0);
  t0 = process.hrtime.bigint();
  const vocab = grammarVocab(tok);
  const tVocab = ms(t0);
  const g = parseGbnf(json);
  const logits = new Float32Array(tok.vocabSize);
  t0 = process.hrtime.bigint();
  new GrammarSampler(g, vocab).mask(logits); // builds the trie
  const tTrie = ms(t0);
  console.log(`\n${f}: ${tok.vocabSize} tokens; tokenizer load ${tLoad.toFixed(0)} ms, grammarVocab ${tVocab.toFixed(0)} ms, trie + first mask ${tTrie.toFixed(0)} ms`);
  console.log('| prefix | allowed | mask, first (ms) | mask, cached (ms) |');
  console.log('|---|---:|---:|---:|');
  const fresh = parseGbnf(json); // a new automaton: nothing cached
  for (const p of points) {
    const s = new GrammarSampler(fresh, vocab);
    if (!s.acceptBytes(new TextEncoder().encode(doc.slice(0, p)))) throw new Error('doc rejected at ' + p);
    logits.fill(0);
    t0 = process.hrtime.bigint();
    s.mask(logits);
    const first = ms(t0);
    let n = 0;
    for (const x of logits) if (x === 0) n++;
    const reps = 20;
    t0 = process.hrtime.bigint();
    for (let r = 0; r < reps; r++) { logits.fill(0); s.mask(logits); }
    const cached = ms(t0) / reps;
    console.log(`| ${JSON.stringify(doc.slice(Math.max(0, p - 12), p))} (${p}) | ${n} | ${first.toFixed(2)} | ${cached.toFixed(3)} |`);
  }
  // A whole document token by token, as generation would see it (fresh automaton: every state new once).
  const long = JSON.stringify({ users: Array.from({ length: 6 }, (_, i) => ({ id: i, name: `user ${i}`, email: `u${i}@example.com`, score: i * 1.5, tags: ['a', 'b'], active: i % 2 === 0, address: { city: 'Zürich', zip: String(8000 + i) } })) }, null, 1);
  const ids = tok.encode(long, { addBos: false });
  const s = new GrammarSampler(parseGbnf(json), vocab);
  const times: number[] = [];
  for (const id of ids) {
    t0 = process.hrtime.bigint();
    s.mask(logits);
    times.push(ms(t0));
    s.accept(id);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(`whole document (${long.length} chars, ${ids.length} tokens): mask mean ${mean.toFixed(2)} ms, median ${times[times.length >> 1].toFixed(2)}, p90 ${times[Math.floor(times.length * 0.9)].toFixed(2)}, max ${times[times.length - 1].toFixed(2)}`);
}
