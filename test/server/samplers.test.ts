// Mirostat, XTC, DRY and the samplers order through `hearth serve`, sent as llama-server's extra fields with the
// official openai client and as Ollama options with the ollama client; each run equals the engine's own generation
// with the same options and seed on a fresh context.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Ollama } from 'ollama';
import { startServer, reference, type TestServer } from './harness.ts';

let srv: TestServer;
let client: OpenAI;
let ollama: Ollama;

before(async () => {
  srv = await startServer({ parallel: 2 });
  client = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'unused', maxRetries: 0 });
  ollama = new Ollama({ host: srv.base });
});
after(() => srv.close());

const promptOf = (text: string) => srv.model.tokenizer.encode(text);
const model = 'stories260K';
const content = 'Once upon a time';

// The SDK sends keys it does not know as they are: llama-server's extras ride along.
type Extra = Record<string, unknown>;
const chat = async (extra: Extra, maxTokens = 32) => (await client.chat.completions.create(
  { model, messages: [{ role: 'user', content }], max_tokens: maxTokens, ...extra } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming,
)).choices[0].message.content;

test('mirostat 2 through OpenAI chat equals the engine with the same seed; mirostat 1 through completions too', async () => {
  const text = await chat({ mirostat: 2, mirostat_tau: 3, mirostat_eta: 0.2, seed: 11 });
  const want = await reference(srv.model, promptOf(content), { maxTokens: 32, sampling: { mirostat: 2, mirostatTau: 3, mirostatEta: 0.2, seed: 11 } });
  assert.equal(text, want.text);
  assert.equal(await chat({ mirostat: 2, mirostat_tau: 3, mirostat_eta: 0.2, seed: 11 }), text, 'reproducible');
  assert.notEqual(text, (await reference(srv.model, promptOf(content), { maxTokens: 32, sampling: { seed: 11 } })).text, 'mirostat was applied');
  const c = await client.completions.create({ model, prompt: content, max_tokens: 24, seed: 4, mirostat: 1 } as unknown as OpenAI.CompletionCreateParamsNonStreaming);
  const w1 = await reference(srv.model, promptOf(content), { maxTokens: 24, sampling: { mirostat: 1, seed: 4 } });
  assert.equal(c.choices[0].text, w1.text);
});

test('XTC through OpenAI chat: the engine\'s output, and at temperature 0 no longer the greedy one', async () => {
  const text = await chat({ temperature: 0, xtc_probability: 1, xtc_threshold: 0.1, seed: 3 });
  const want = await reference(srv.model, promptOf(content), { maxTokens: 32, sampling: { temperature: 0, xtcProbability: 1, xtcThreshold: 0.1, seed: 3 } });
  assert.equal(text, want.text);
  const greedy = await reference(srv.model, promptOf(content), { maxTokens: 32 });
  assert.notEqual(text, greedy.text);
  const sampled = await chat({ xtc_probability: 0.5, xtc_threshold: 0.05, seed: 8, temperature: 1 });
  assert.equal(sampled, (await reference(srv.model, promptOf(content), { maxTokens: 32, sampling: { xtcProbability: 0.5, xtcThreshold: 0.05, seed: 8, temperature: 1 } })).text);
});

test('DRY through OpenAI chat breaks greedy loops as the engine does', async () => {
  const extra = { temperature: 0, dry_multiplier: 2, dry_allowed_length: 1, dry_sequence_breakers: ['\n', '.'] };
  const text = await chat(extra, 64);
  const want = await reference(srv.model, promptOf(content), {
    maxTokens: 64, sampling: { temperature: 0, dryMultiplier: 2, dryAllowedLength: 1, drySequenceBreakers: ['\n', '.'] },
  });
  assert.equal(text, want.text);
  assert.notEqual(text, (await reference(srv.model, promptOf(content), { maxTokens: 64 })).text);
});

test('samplers order through OpenAI completions, as names and as letters', async () => {
  const opts = { temperature: 1.5, top_k: 5, seed: 21 };
  const a = await client.completions.create({ model, prompt: content, max_tokens: 24, ...opts, samplers: ['temperature', 'top_k'] } as unknown as OpenAI.CompletionCreateParamsNonStreaming);
  const b = await client.completions.create({ model, prompt: content, max_tokens: 24, ...opts, samplers: 'tk' } as unknown as OpenAI.CompletionCreateParamsNonStreaming);
  const want = await reference(srv.model, promptOf(content), { maxTokens: 24, sampling: { temperature: 1.5, topK: 5, seed: 21, samplers: ['temperature', 'top_k'] } });
  assert.equal(a.choices[0].text, want.text);
  assert.equal(b.choices[0].text, want.text);
});

test('Ollama options: mirostat 2, XTC, DRY and samplers equal the engine', async () => {
  const cases: [Record<string, unknown>, object][] = [
    [{ mirostat: 2, mirostat_tau: 4, seed: 5 }, { mirostat: 2, mirostatTau: 4, seed: 5 }],
    [{ temperature: 0, xtc_probability: 1, xtc_threshold: 0.1, seed: 2 }, { temperature: 0, xtcProbability: 1, xtcThreshold: 0.1, seed: 2 }],
    [{ temperature: 0, dry_multiplier: 1.5, dry_allowed_length: 1 }, { temperature: 0, dryMultiplier: 1.5, dryAllowedLength: 1 }],
    [{ temperature: 1.2, top_k: 8, seed: 9, samplers: 'temperature;top_k' }, { temperature: 1.2, topK: 8, seed: 9, samplers: ['temperature', 'top_k'] }],
  ];
  for (const [options, sampling] of cases) {
    const r = await ollama.generate({ model, prompt: content, stream: false, options: { num_predict: 64, ...options } });
    const want = await reference(srv.model, promptOf(content), { maxTokens: 64, sampling });
    assert.equal(r.response, want.text, JSON.stringify(options));
    const plain = await reference(srv.model, promptOf(content), { maxTokens: 64, sampling: { temperature: 0.8, ...(options.temperature !== undefined ? { temperature: options.temperature as number } : {}), seed: options.seed as number | undefined } });
    assert.notEqual(r.response, plain.text, `${JSON.stringify(options)} changed the output`);
  }
});

test('bad sampler fields are 400s naming the field', async () => {
  const status = (param: string) => (e: unknown) => e instanceof OpenAI.APIError && e.status === 400 && (e as { param?: string | null }).param === param;
  await assert.rejects(chat({ mirostat: 3 }), status('mirostat'));
  await assert.rejects(chat({ samplers: ['top_k', 'nope'] }), status('samplers[1]'));
  await assert.rejects(chat({ dry_sequence_breakers: [] }), status('dry_sequence_breakers'));
});

test('llama-server /completion: the same fields, reported back in generation_settings', async () => {
  const res = await fetch(`${srv.base}/completion`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: content, n_predict: 32, seed: 6, mirostat: 2, mirostat_tau: 4, dry_multiplier: 1, dry_allowed_length: 1, samplers: 'dkt' }),
  });
  assert.equal(res.status, 200);
  const json = await res.json() as { content: string; generation_settings: Record<string, unknown> };
  const want = await reference(srv.model, promptOf(content), {
    maxTokens: 32, sampling: { seed: 6, mirostat: 2, mirostatTau: 4, dryMultiplier: 1, dryAllowedLength: 1, samplers: ['dry', 'top_k', 'temperature'] },
  });
  assert.equal(json.content, want.text);
  const g = json.generation_settings;
  assert.deepEqual([g.mirostat, g.mirostat_tau, g.dry_multiplier, g.dry_allowed_length, g.samplers], [2, 4, 1, 1, ['dry', 'top_k', 'temperature']]);
});
