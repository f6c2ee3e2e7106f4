import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readLlamaSamplerFields } from './llama-sampler-fields.ts';
import { chatRequestFromOpenAI } from './openai/chat.ts';
import { completionRequestFromOpenAI } from './openai/completions.ts';
import { readOllamaOptions } from './ollama/options.ts';
import { FieldError, Fields } from './validate.ts';

const read = (v: object) => readLlamaSamplerFields(new Fields(v));
const fieldError = (param: string, code = 'invalid_argument') => (e: unknown) =>
  e instanceof FieldError && e.param === param && e.code === code;

test('llama.cpp-named sampler fields become SamplingOptions; absent ones stay absent', () => {
  assert.deepEqual(read({}), {});
  assert.deepEqual(read({
    mirostat: 2, mirostat_tau: 4, mirostat_eta: 0.2, typical_p: 0.9, min_keep: 2, xtc_probability: 0.5, xtc_threshold: 0.2,
    dry_multiplier: 0.8, dry_base: 2, dry_allowed_length: 3, dry_penalty_last_n: -1, dry_sequence_breakers: ['\n', 'END'],
    samplers: ['dry', 'top_k', 'temperature'],
  }), {
    mirostat: 2, mirostatTau: 4, mirostatEta: 0.2, typicalP: 0.9, minKeep: 2, xtcProbability: 0.5, xtcThreshold: 0.2,
    dryMultiplier: 0.8, dryBase: 2, dryAllowedLength: 3, dryPenaltyLastN: -1, drySequenceBreakers: ['\n', 'END'],
    samplers: ['dry', 'top_k', 'temperature'],
  });
  assert.deepEqual(read({ dry_base: 0.5 }), { dryBase: 1.75 }, 'llama-server replaces a base below 1 with its default');
  assert.deepEqual(read({ typical_p: 1.5 }), { typicalP: 1 }, 'typical_p >= 1 is off');
});

test('samplers: names with llama.cpp aliases, a ;-separated string, or letters', () => {
  const order = (v: unknown) => read({ samplers: v }).samplers;
  assert.deepEqual(order(['Top-K', 'typical_p', 'typ', 'nucleus', 'minp', 'temp', 'penalties', 'xtc']),
    ['top_k', 'typ_p', 'typ_p', 'top_p', 'min_p', 'temperature', 'penalties', 'xtc']);
  assert.deepEqual(order('dry;top_k;typ_p;top_p;min_p;xtc;temperature'), ['dry', 'top_k', 'typ_p', 'top_p', 'min_p', 'xtc', 'temperature']);
  assert.deepEqual(order('edkypmxt'), ['penalties', 'dry', 'top_k', 'typ_p', 'top_p', 'min_p', 'xtc', 'temperature']);
  assert.deepEqual(order('temperature'), ['temperature'], 'one name alone');
  assert.deepEqual(order('temp'), ['temperature', 'penalties', 'min_p', 'top_p'], 'letters where a string can be letters, as llama-server reads it');
  assert.deepEqual(order(['top_n_sigma', 'top_k']), ['top_k'], 'top_n_sigma is off without its parameter');
  assert.deepEqual(order('kst'), ['top_k', 'temperature']);
  assert.deepEqual(order([]), []);
  assert.throws(() => read({ samplers: ['top_k', 'bogus'] }), fieldError('samplers[1]'));
  assert.throws(() => read({ samplers: 'kq' }), fieldError('samplers'), 'neither letters nor a name');
  assert.throws(() => read({ samplers: ['infill'] }), fieldError('samplers[0]', 'unsupported_field'));
  const lenient = (v: unknown) => readLlamaSamplerFields(new Fields({ samplers: v }), { ignoreUnimplementedOrder: true }).samplers;
  assert.equal(lenient(['top_k', 'top_p', 'infill']), undefined, "llama-server's endpoints keep the default order");
  assert.equal(lenient('kpi'), undefined);
  assert.deepEqual(lenient('kp'), ['top_k', 'top_p']);
  assert.throws(() => readLlamaSamplerFields(new Fields({ samplers: ['bogus'] }), { ignoreUnimplementedOrder: true }), fieldError('samplers[0]'));
  assert.throws(() => read({ samplers: 3 }), fieldError('samplers'));
});

test('bad values are FieldErrors naming the field', () => {
  const bad: [object, string][] = [[{ mirostat: 3 }, 'mirostat'], [{ mirostat: 1.5 }, 'mirostat'], [{ mirostat_tau: 'x' }, 'mirostat_tau'],
    [{ xtc_probability: 2 }, 'xtc_probability'], [{ xtc_threshold: -1 }, 'xtc_threshold'], [{ dry_multiplier: -0.1 }, 'dry_multiplier'],
    [{ dry_allowed_length: -1 }, 'dry_allowed_length'], [{ dry_penalty_last_n: -2 }, 'dry_penalty_last_n'], [{ typical_p: 0 }, 'typical_p'],
    [{ dry_sequence_breakers: [] }, 'dry_sequence_breakers'], [{ dry_sequence_breakers: ['a', 1] }, 'dry_sequence_breakers[1]'],
    [{ dry_sequence_breakers: 'a' }, 'dry_sequence_breakers'], [{ min_keep: -1 }, 'min_keep']];
  for (const [v, param] of bad) assert.throws(() => read(v), fieldError(param), JSON.stringify(v));
  assert.throws(() => readLlamaSamplerFields(new Fields({ mirostat: 5 }, 'options')), fieldError('options.mirostat'));
});

test('OpenAI chat and completions and Ollama options accept them as llama-server does', () => {
  const extras = { mirostat: 2, mirostat_tau: 3, xtc_probability: 0.5, dry_multiplier: 0.8, samplers: 'kt' };
  const chat = chatRequestFromOpenAI({ model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 0.7, ...extras });
  assert.deepEqual({ ...chat.sampling }, {
    temperature: 0.7, topP: undefined, presencePenalty: undefined, frequencyPenalty: undefined, seed: undefined, topK: undefined,
    minP: undefined, repeatPenalty: undefined, repeatLastN: undefined,
    mirostat: 2, mirostatTau: 3, xtcProbability: 0.5, dryMultiplier: 0.8, samplers: ['top_k', 'temperature'],
  });
  const cmpl = completionRequestFromOpenAI({ model: 'm', prompt: 'hi', typical_p: 0.5, dry_sequence_breakers: ['x'] });
  assert.equal(cmpl.sampling.typicalP, 0.5);
  assert.deepEqual(cmpl.sampling.drySequenceBreakers, ['x']);
  assert.throws(() => completionRequestFromOpenAI({ model: 'm', prompt: 'hi', xtc_threshold: 7 }), fieldError('xtc_threshold'));
  const ollama = readOllamaOptions(new Fields({ mirostat: 1, typical_p: 0.8, dry_multiplier: 1 }, 'options'));
  assert.equal(ollama.sampling.mirostat, 1);
  assert.equal(ollama.sampling.typicalP, 0.8);
  assert.equal(ollama.sampling.dryMultiplier, 1);
});
