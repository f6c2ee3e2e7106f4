// The Ollama API of `hearth serve`, used through the official `ollama` client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ollama } from 'ollama';
import { embed } from '../../src/engine/embed.ts';
import { startServer, reference, until, type TestServer } from './harness.ts';

let srv: TestServer;
let ollama: Ollama;

before(async () => {
  srv = await startServer({ parallel: 2 });
  ollama = new Ollama({ host: srv.base });
});
after(() => srv.close());

const promptOf = (text: string) => srv.model.tokenizer.encode(text);

test('generate, not streamed: text, done_reason, context and nanosecond timings', async () => {
  const t0 = process.hrtime.bigint();
  const r = await ollama.generate({ model: 'stories260K', prompt: 'Once upon a time', stream: false, options: { num_predict: 16, temperature: 0 } });
  const wall = Number(process.hrtime.bigint() - t0);
  const ids = promptOf('Once upon a time');
  const want = await reference(srv.model, ids, { maxTokens: 16 });
  assert.equal(r.response, want.text);
  assert.equal(r.done, true);
  assert.equal(r.done_reason, 'length');
  assert.equal(r.prompt_eval_count, ids.length);
  assert.equal(r.eval_count, 16);
  assert.deepEqual(r.context, [...ids, ...want.tokens]);
  for (const k of ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration'] as const) {
    assert.ok(Number.isInteger(r[k]) && r[k] >= 0, `${k} = ${r[k]}`);
  }
  // durations are nanoseconds: inside the client's own wall time, and the parts add up to at most the total
  assert.ok(r.total_duration > 0 && r.total_duration <= wall, `${r.total_duration} ns vs wall ${wall} ns`);
  assert.ok(r.prompt_eval_duration + r.eval_duration <= r.total_duration);
});

test('generate, streamed: NDJSON chunks add up; the last carries done and counts', async () => {
  const stream = await ollama.generate({ model: 'stories260K:latest', prompt: 'The cat', stream: true, options: { num_predict: 12, temperature: 0 } });
  let text = '';
  let last;
  for await (const part of stream) {
    text += part.response;
    last = part;
  }
  assert.equal(text, (await reference(srv.model, promptOf('The cat'), { maxTokens: 12 })).text);
  assert.equal(last!.done, true);
  assert.equal(last!.eval_count, 12);
  assert.equal(last!.prompt_eval_count, promptOf('The cat').length);
});

test('generate: system prompt, raw mode, stop option, seed', async () => {
  // without a chat template, system and prompt are joined by a newline
  const sys = await ollama.generate({ model: 'stories260K', system: 'Tom', prompt: 'ran', stream: false, options: { num_predict: 4, temperature: 0 } });
  assert.equal(sys.prompt_eval_count, promptOf('Tom\nran').length);
  const raw = await ollama.generate({ model: 'stories260K', prompt: 'Once upon a time', raw: true, stream: false, options: { num_predict: 40, temperature: 0, stop: ['.'] } });
  const want = await reference(srv.model, promptOf('Once upon a time'), { maxTokens: 40, stop: ['.'] });
  assert.equal(raw.response, want.text);
  assert.equal(raw.done_reason, 'stop');
  const opts = { num_predict: 20, temperature: 1.2, seed: 99 };
  const [a, b] = await Promise.all([1, 2].map(() => ollama.generate({ model: 'stories260K', prompt: 'Lily', stream: false, options: opts })));
  assert.equal(a.response, b.response);
});

test('chat: streamed and not, message role and content', async () => {
  const messages = [{ role: 'user', content: 'Once upon a time' }];
  const r = await ollama.chat({ model: 'stories260K', messages, stream: false, options: { num_predict: 10, temperature: 0 } });
  const want = await reference(srv.model, promptOf('Once upon a time'), { maxTokens: 10 });
  assert.deepEqual(r.message, { role: 'assistant', content: want.text });
  assert.equal(r.eval_count, 10);
  let text = '';
  for await (const part of await ollama.chat({ model: 'stories260K', messages, stream: true, options: { num_predict: 10, temperature: 0 } })) {
    text += part.message.content;
    if (part.done) assert.equal(part.done_reason, 'length');
  }
  assert.equal(text, want.text);
});

test('embed and the older embeddings endpoint equal the engine embedding', async () => {
  const r = await ollama.embed({ model: 'stories260K', input: ['hello world', 'Tom'] });
  assert.equal(r.embeddings.length, 2);
  assert.deepEqual(Float32Array.from(r.embeddings[0]), embed(srv.model, promptOf('hello world')));
  assert.equal(r.prompt_eval_count, promptOf('hello world').length + promptOf('Tom').length);
  const old = await ollama.embeddings({ model: 'stories260K', prompt: 'Tom' });
  assert.deepEqual(Float32Array.from(old.embedding), embed(srv.model, promptOf('Tom')));
});

test('tags, show, ps, version', async () => {
  const tags = await ollama.list();
  assert.deepEqual(tags.models.map((m) => m.name), ['stories260K:latest']);
  assert.equal(tags.models[0].details.format, 'gguf');
  assert.equal(tags.models[0].details.family, 'llama');
  assert.equal(tags.models[0].size, (await import('node:fs')).statSync(srv.model.path).size);
  const show = await ollama.show({ model: 'stories260K' });
  assert.equal((show.model_info as unknown as Record<string, unknown>)['llama.context_length'], srv.model.hp.nCtxTrain);
  assert.equal(show.details.quantization_level, 'F32');
  const ps = await ollama.ps();
  assert.equal(ps.models[0].name, 'stories260K:latest');
  assert.match((await ollama.version()).version, /^\d+\.\d+\.\d+/);
  assert.equal(await (await fetch(srv.base + '/')).text(), 'Hearth is running');
});

test('an empty prompt loads the model and generates nothing', async () => {
  const r = await ollama.generate({ model: 'stories260K', prompt: '', stream: false });
  assert.equal(r.done_reason, 'load');
  assert.equal(r.response, '');
});

test('errors reach the client as ResponseError with the status and message', async () => {
  const check = (status: number, pattern: RegExp) => (e: unknown) => {
    const err = e as { name: string; status_code: number; error: string };
    return err.name === 'ResponseError' && err.status_code === status && pattern.test(err.error);
  };
  await assert.rejects(ollama.generate({ model: 'llama3', prompt: 'x', stream: false }), check(404, /model "llama3" is not served/));
  await assert.rejects(ollama.chat({ model: 'stories260K', messages: [{ role: 'user', content: 'x' }], format: { type: 'string', format: 'email' }, stream: false }), check(400, /format at \/format is not supported: "email"/));
  await assert.rejects(ollama.generate({ model: 'stories260K', prompt: 'x', stream: false, options: { temperature: -1 } }), check(400, /options\.temperature must be >= 0/));
  await assert.rejects(ollama.generate({ model: 'stories260K', prompt: 'x', stream: false, options: { mirostat: 3 } }), check(400, /options\.mirostat must be <= 2/));
  await assert.rejects(ollama.chat({ model: 'stories260K', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'retrieval', function: { name: 'f' } }], stream: false }), check(400, /tools\[0\]\.type must be "function"/));
});

test('aborting a streamed generate frees the slot', async () => {
  const stream = await ollama.generate({ model: 'stories260K', prompt: 'Once', stream: true, options: { num_predict: 1500, temperature: 0 } });
  let n = 0;
  try {
    for await (const _ of stream) if (++n === 5) stream.abort();
  } catch (e) {
    assert.equal((e as Error).name, 'AbortError');
  }
  const sched = srv.host.ready();
  await until(() => sched.stats().busy === 0);
  assert.ok(n < 100);
});
