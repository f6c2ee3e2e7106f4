// Lazy grammars on stories260K: output is the model's own until a trigger word appears in it, and from there
// (the word included) it follows the grammar to the grammar's end — llama.cpp's lazy grammars, as tool calls
// in auto mode use them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedPath } from './shared.ts';
import { loadModel } from '../src/engine/load.ts';
import { Context } from '../src/engine/context.ts';
import { generate } from '../src/engine/generate.ts';
import { GrammarSampler, grammarVocab, LazyGrammar, parseGbnf, type SamplingOptions } from '../src/engine/sampler/index.ts';

const model = loadModel(sharedPath('models', 'stories260K.gguf'), { nCtx: 256 });
const prompt = model.tokenizer.encode('Once upon a time');

async function run(sampling: SamplingOptions, maxTokens = 60): Promise<{ ids: number[]; text: string; reason: string }> {
  const ctx = new Context(model);
  const ids: number[] = [];
  let text = '';
  let reason = '';
  for await (const ev of generate(ctx, { prompt, maxTokens, sampling })) {
    if (ev.type === 'token') ids.push(ev.id);
    if (ev.type === 'done') reason = ev.reason;
    else text += ev.text;
  }
  return { ids, text, reason };
}

test('before its trigger a lazy grammar changes nothing; from the trigger on the output is the grammar\'s', async () => {
  const sampling = { temperature: 1, seed: 7 };
  const free = await run(sampling);
  // The trigger: the text of a token the free run wrote part-way through, at its first occurrence.
  const pieces = free.ids.map((id) => model.tokenizer.decode([id]));
  const k = pieces.findIndex((p, i) => i >= 5 && p.trim().length >= 3 && !pieces.slice(0, i).join('').includes(p));
  assert.ok(k > 0, `a trigger among ${JSON.stringify(pieces)}`);
  const trigger = pieces[k]!;
  const grammar = `root ::= ${JSON.stringify(trigger)} " zz" [0-9] "."\n`;
  const lazy = await run({ ...sampling, grammar, grammarTriggers: [trigger] });
  assert.deepEqual(lazy.ids.slice(0, k + 1), free.ids.slice(0, k + 1), 'the same tokens up to and with the trigger');
  const at = lazy.text.indexOf(trigger.trim());
  assert.ok(at > 0 && free.text.startsWith(lazy.text.slice(0, at)), JSON.stringify([free.text, lazy.text]));
  assert.match(lazy.text.slice(at + trigger.trim().length), /^ zz[0-9]\.$/, JSON.stringify(lazy.text));
  assert.equal(lazy.reason, 'eog', 'a grammar that can take no more ends the output');
  // A trigger the output never writes leaves it free.
  const never = await run({ ...sampling, grammar, grammarTriggers: ['<never written>'] });
  assert.deepEqual(never.ids, free.ids);
});

test('LazyGrammar: a trigger spanning tokens switches it on; one whose continuation the grammar refuses does not', () => {
  const tok = model.tokenizer;
  const vocab = grammarVocab(tok);
  const ids = (s: string) => tok.encode(s, { addBos: false, parseSpecial: false });
  const g = () => new GrammarSampler(parseGbnf('root ::= "<call>" [a-z]+ "</call>"\n'), vocab);
  const lazy = new LazyGrammar(g(), vocab, ['<call>']);
  const text = 'The cat said <call>';
  const tokens = ids(text);
  assert.ok(tokens.length > 3);
  for (const id of tokens) {
    assert.equal(lazy.active, false);
    const logits = new Float32Array(vocab.pieces.length).fill(1);
    lazy.mask(logits);
    assert.ok(logits.every((x) => x === 1), 'no mask before the trigger');
    lazy.accept(id);
  }
  assert.equal(lazy.active, true);
  assert.equal(lazy.complete, false);
  const logits = new Float32Array(vocab.pieces.length);
  lazy.mask(logits);
  const allowed = [...logits.keys()].filter((id) => logits[id] === 0).map((id) => tok.decode([id]));
  assert.ok(allowed.length > 0 && allowed.every((p) => /^[a-z]/.test(p)), JSON.stringify(allowed.slice(0, 20)));

  // A trigger whose token goes on with text the grammar refuses: stays off, and looks on.
  const words = ids('The cat said hello');
  const long = words.find((id) => tok.decode([id]).trim().length >= 3)!;
  const word = tok.decode([long]).trim();
  const trigger = word.slice(0, -1);
  const off = new LazyGrammar(new GrammarSampler(parseGbnf(`root ::= ${JSON.stringify(trigger)} "!"\n`), vocab), vocab, [trigger]);
  off.accept(long);
  assert.equal(off.active, false, `${JSON.stringify(word)} is not ${JSON.stringify(trigger)} followed by "!"`);
  for (const id of ids(` ${trigger}!`)) off.accept(id);
  assert.equal(off.active, true);
  assert.equal(off.done, true);
});
