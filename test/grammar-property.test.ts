// Structured output as a property: 1,000 random JSON Schemas (test/fixtures/json-schemas.ts: every feature the
// compiler supports, nested, with $defs/$ref and recursion), each compiled to GBNF and run through a model under
// it (stories260K, sampled at temperature 1 with a seed per schema, through the engine's own generation loop). Every
// output the grammar ended must parse as JSON and validate against its schema (ajv, draft 2020-12, with formats);
// outputs cut by the token limit are counted and reported. Then llama.cpp's example grammars (json, arithmetic, c,
// chess, list): what the model says under each is a complete match for the slow reference matcher.
// Measured: ~60 s alone on 2 cores.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { sharedPath, REPO_ROOT } from './shared.ts';
import { loadModel } from '../src/engine/load.ts';
import { Context } from '../src/engine/context.ts';
import { generate } from '../src/engine/generate.ts';
import { jsonSchemaToGbnf, parseGbnf } from '../src/engine/sampler/index.ts';
import { ReferenceMatcher } from '../src/engine/sampler/grammar/reference.ts';
import { randomSchema } from './fixtures/json-schemas.ts';
import { SeededRandom } from './fixtures/seeded-random.ts';

const SCHEMAS = 1000;
const MAX_TOKENS = 160;

const model = loadModel(sharedPath('models', 'stories260K.gguf'), { nCtx: 256 });
const prompt = model.tokenizer.encode('Once upon a time');

async function run(ctx: Context, grammar: string, seed: number): Promise<{ text: string; reason: string; tokens: number }> {
  let text = '';
  let reason = '';
  let tokens = 0;
  for await (const ev of generate(ctx, { prompt, maxTokens: MAX_TOKENS, sampling: { temperature: 1, seed, grammar } })) {
    if (ev.type === 'token') tokens++;
    if (ev.type === 'done') reason = ev.reason;
    else text += ev.text;
  }
  return { text, reason, tokens };
}

test(`${SCHEMAS} random JSON Schemas: every output the grammar ends parses and validates`, async (t) => {
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const rng = new SeededRandom(20261204);
  const ctx = new Context(model);
  let finished = 0, cut = 0, tokens = 0;
  const failures: string[] = [];
  for (let i = 0; i < SCHEMAS; i++) {
    const schema = randomSchema(rng, 3);
    const grammar = jsonSchemaToGbnf(schema);
    const out = await run(ctx, grammar, i + 1);
    tokens += out.tokens;
    if (out.reason === 'length') { cut++; continue; }
    finished++;
    let value: unknown;
    try {
      value = JSON.parse(out.text);
    } catch (e) {
      failures.push(`#${i} does not parse (${(e as Error).message}): ${out.text.slice(0, 200)}\nschema ${JSON.stringify(schema)}`);
      continue;
    }
    const validate = ajv.compile(schema);
    if (!validate(value)) failures.push(`#${i} ${out.text.slice(0, 200)}: ${ajv.errorsText(validate.errors)}\nschema ${JSON.stringify(schema)}`);
  }
  t.diagnostic(`${finished} of ${SCHEMAS} ended by their grammar (all checked), ${cut} cut at ${MAX_TOKENS} tokens; ${tokens} tokens generated`);
  assert.deepEqual(failures.slice(0, 5), []);
  // a property over nothing proves nothing: most outputs must be complete documents
  assert.ok(finished >= SCHEMAS / 2, `only ${finished} of ${SCHEMAS} outputs ended by their grammar`);
});

const GRAMMARS = join(REPO_ROOT, 'test', 'reference', 'node_modules', 'node-llama-cpp', 'llama', 'grammars');

test("llama.cpp's example grammars: what the model says under each is a complete match", async (t) => {
  const ctx = new Context(model);
  for (const name of ['json', 'arithmetic', 'c', 'chess', 'list']) {
    const text = readFileSync(join(GRAMMARS, `${name}.gbnf`), 'utf8');
    const grammar = parseGbnf(text);
    let complete = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const out = await run(ctx, text, seed);
      const ref = new ReferenceMatcher(grammar);
      for (const b of new TextEncoder().encode(out.text)) assert.ok(ref.pushByte(b), `${name} seed ${seed}: the reference refuses ${JSON.stringify(out.text)}`);
      if (out.reason !== 'length') {
        assert.ok(ref.complete, `${name} seed ${seed}: ended but incomplete: ${JSON.stringify(out.text)}`);
        complete++;
      }
    }
    t.diagnostic(`${name}: ${complete} of 8 outputs ended by the grammar or the model, the rest cut at ${MAX_TOKENS} tokens (all accepted so far)`);
  }
});
