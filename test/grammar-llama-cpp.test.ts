// Cross-check with llama.cpp: texts stories260K generates under json.gbnf and arithmetic.gbnf with
// llama.cpp's own grammar sampler (node-llama-cpp, in its own process) are accepted by Hearth's matcher —
// as a complete match or, where llama.cpp stopped at maxTokens, as a prefix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedPath } from './shared.ts';
import { requireReference } from './reference/client.ts';
import { parseGbnf } from '../src/engine/sampler/grammar/parse.ts';
import { GrammarSampler } from '../src/engine/sampler/grammar/grammar-sampler.ts';
import { ReferenceMatcher } from '../src/engine/sampler/grammar/reference.ts';

const HERE = import.meta.dirname;
const GRAMMARS = join(HERE, 'reference/node_modules/node-llama-cpp/llama/grammars');

test('llama.cpp generations under json.gbnf and arithmetic.gbnf are accepted by the matcher', (t) => {
  if (!requireReference(t)) return;
  const texts = ['json', 'arithmetic'].map((n) => readFileSync(join(GRAMMARS, `${n}.gbnf`), 'utf8'));
  const req = { model: sharedPath('models', 'stories260K.gguf'), grammars: texts, seeds: [1, 2, 3], maxTokens: 48 };
  const r = spawnSync(process.execPath, [join(HERE, 'reference/grammar-llama.ts'), JSON.stringify(req)], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const outputs = JSON.parse(r.stdout) as string[][];
  assert.equal(outputs.length, 2);
  texts.forEach((text, k) => {
    const g = parseGbnf(text);
    for (const out of outputs[k]) {
      assert.ok(out.length > 0);
      const bytes = new TextEncoder().encode(out);
      const s = new GrammarSampler(g, { pieces: [], eog: new Set() });
      assert.ok(s.acceptBytes(bytes), `rejected llama.cpp's ${JSON.stringify(out)}`);
      const ref = new ReferenceMatcher(g);
      assert.ok(ref.pushBytes(bytes));
      assert.equal(s.complete, ref.complete);
    }
  });
});
