// The model families through `hearth serve` and the official clients (openai, ollama, @anthropic-ai/sdk), on
// loopback with API keys and the usage audit on: synthetic gemma3 and qwen3 decoders (their own chat templates
// and end-of-turn tokens, see test/fixtures/synthetic-families.ts), a nomic-bert embedder and a bert reranker behind
// /v1/rerank. Checked: the prompt the server counts is the chat template rendered as written out here; a
// generation stops at the family's end-of-turn token (forced with logit_bias) with finish_reason stop and the
// token's text kept out of the answer; Qwen3's thinking switch (chat_template_kwargs, Ollama's think) changes
// the prompt by the think block; the reranker's scores come back best first for a real HTTP client.
// Measured alone on the 2-core machine: 5-12 s with the synthetic models cached (test/.cache), +~5 s to write them.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Ollama } from 'ollama';
import Anthropic from '@anthropic-ai/sdk';
import { syntheticFamilyPath } from '../fixtures/synthetic-families.ts';
import { startServer, type TestServer } from './harness.ts';
import { tempDir } from '../security/harness.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { REPO_ROOT } from '../shared.ts';
import { rerank } from '../../src/engine/rerank.ts';

interface Served {
  srv: TestServer;
  store: Store;
  key: string;
  base: string;
  close(): Promise<void>;
}

async function serve(path: string, alias: string): Promise<Served> {
  const store = openStore(join(tempDir('hearth-families-'), 'hearth.db'));
  const srv = await startServer({ path, alias, nCtx: 256, parallel: 2, app: { security: { keys: store.keys, usage: store.usage } } });
  const key = store.keys.create({ name: 'families' }).secret;
  return {
    srv, store, key, base: srv.base,
    close: async () => {
      await srv.close();
      store.close();
    },
  };
}

// Small shapes of each family (the defaults are the real widths).
const GEMMA3 = { family: 'gemma3' as const, nEmbd: 256, nHead: 4, nHeadKv: 1, headDim: 64, nFF: 512, nLayer: 2, nCtxTrain: 4096 };
const QWEN3 = { family: 'qwen3' as const, nEmbd: 256, nHead: 4, nHeadKv: 2, headDim: 64, nFF: 512, nLayer: 2, nCtxTrain: 4096 };
const RANKER = { family: 'bert-rank' as const, nEmbd: 128, nHead: 4, nFF: 512, nLayer: 2, nCtxTrain: 512 };
const NOMIC = { family: 'nomic-bert' as const, nEmbd: 128, nHead: 4, nFF: 256, nLayer: 2, nCtxTrain: 512 };

let gemma: Served;
let qwen: Served;
let ranker: Served;
let nomic: Served;

before(async () => {
  [gemma, qwen, ranker, nomic] = await Promise.all([
    serve(syntheticFamilyPath(GEMMA3), 'gemma3-tiny'), serve(syntheticFamilyPath(QWEN3), 'qwen3-tiny'),
    serve(syntheticFamilyPath(RANKER), 'ranker-tiny'), serve(syntheticFamilyPath(NOMIC), 'nomic-tiny'),
  ]);
});
after(async () => {
  await Promise.all([gemma?.close(), qwen?.close(), ranker?.close(), nomic?.close()]);
});

const openai = (s: Served) => new OpenAI({ baseURL: `${s.base}/v1`, apiKey: s.key, maxRetries: 0 });

/** Prompt ids of chat text written out by hand (special tokens parsed; the vocabulary's BOS unless the text has it). */
function ids(s: Served, text: string): number[] {
  const tok = s.srv.model.tokenizer;
  const bos = tok.tokenToPiece(tok.bosId);
  return tok.encode(text, { parseSpecial: true, addBos: tok.addBos && !text.startsWith(bos) });
}

const tokenId = (s: Served, piece: string) => {
  const tok = s.srv.model.tokenizer;
  const found = tok.encode(piece, { parseSpecial: true, addBos: false });
  assert.equal(found.length, 1, `${piece} is one token`);
  return found[0];
};

// Gemma 3's template: BOS, the system text folded into the first user turn, "model" as the assistant's role.
const GEMMA_PROMPT = '<s><start_of_turn>user\nBe brief.\n\nWhat is a hearth?<end_of_turn>\n<start_of_turn>model\n';
// Qwen3's: ChatML.
const QWEN_PROMPT = '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is a hearth?<|im_end|>\n<|im_start|>assistant\n';
const MESSAGES = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'What is a hearth?' }];

for (const [name, served, prompt, eot] of [
  ['gemma3', () => gemma, GEMMA_PROMPT, '<end_of_turn>'],
  ['qwen3', () => qwen, QWEN_PROMPT, '<|im_end|>'],
] as const) {
  test(`${name} (openai): the prompt is the family's chat template; generation stops at ${eot}`, async () => {
    const s = served();
    const client = openai(s);
    const want = ids(s, prompt);
    const r = await client.chat.completions.create({ model: s.srv.host.ready().card.id, messages: MESSAGES, max_tokens: 6, temperature: 0 });
    assert.equal(r.usage!.prompt_tokens, want.length);
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage!.completion_tokens, 6);
    // The end-of-turn token made certain: the turn ends there, its text is not part of the answer.
    const end = tokenId(s, eot);
    const stopped = await client.chat.completions.create({
      model: s.srv.host.ready().card.id, messages: MESSAGES, max_tokens: 6, temperature: 0, logit_bias: { [end]: 100 },
    });
    assert.equal(stopped.choices[0].finish_reason, 'stop');
    assert.equal(stopped.choices[0].message.content, '');
    assert.ok(stopped.usage!.completion_tokens <= 1, `${stopped.usage!.completion_tokens} completion tokens`);
    // streamed: the same
    const stream = await client.chat.completions.create({
      model: s.srv.host.ready().card.id, messages: MESSAGES, max_tokens: 6, temperature: 0, logit_bias: { [end]: 100 }, stream: true,
    });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        finish = c.finish_reason ?? finish;
      }
    }
    assert.deepEqual([text, finish], ['', 'stop']);
  });

  test(`${name} (ollama): /api/generate's context starts with the rendered template; show reports the capabilities`, async () => {
    const s = served();
    const ollama = new Ollama({ host: s.base, headers: { authorization: `Bearer ${s.key}` } });
    const model = s.srv.host.ready().card.id;
    const r = await ollama.generate({ model, system: 'Be brief.', prompt: 'What is a hearth?', stream: false, options: { num_predict: 4, temperature: 0 } });
    const want = ids(s, prompt);
    assert.equal(r.prompt_eval_count, want.length);
    assert.deepEqual(r.context.slice(0, want.length), want);
    assert.equal(r.done_reason, 'length');
    assert.ok(!(r.response ?? '').includes(eot));
    const chat = await ollama.chat({ model, messages: MESSAGES, stream: false, options: { num_predict: 4, temperature: 0 } });
    assert.equal(chat.prompt_eval_count, want.length);
    const show = await ollama.show({ model });
    assert.deepEqual(show.capabilities, name === 'qwen3' ? ['completion', 'embedding', 'thinking', 'tools'] : ['completion', 'embedding']);
    assert.equal(show.template, s.srv.host.ready().card.chatTemplate);
  });

  test(`${name} (anthropic): input_tokens count the rendered template; the stream's text never holds ${eot}`, async () => {
    const s = served();
    const client = new Anthropic({ baseURL: s.base, apiKey: s.key, maxRetries: 0 });
    const model = s.srv.host.ready().card.id;
    const r = await client.messages.create({ model, max_tokens: 5, system: 'Be brief.', messages: [{ role: 'user', content: 'What is a hearth?' }] });
    assert.equal(r.usage.input_tokens, ids(s, prompt).length);
    assert.equal(r.stop_reason, 'max_tokens');
    const counted = await client.messages.countTokens({ model, system: 'Be brief.', messages: [{ role: 'user', content: 'What is a hearth?' }] });
    assert.equal(counted.input_tokens, ids(s, prompt).length);
    const text = r.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    assert.ok(!text.includes(eot));
  });
}

test('qwen3: enable_thinking false (chat_template_kwargs, Ollama think, Anthropic thinking disabled) adds the empty think block; gemma3 cannot think', async () => {
  const model = qwen.srv.host.ready().card.id;
  const client = openai(qwen);
  const user = [{ role: 'user' as const, content: 'What is a hearth?' }];
  const head = '<|im_start|>user\nWhat is a hearth?<|im_end|>\n<|im_start|>assistant\n';
  const ask = async (kwargs?: Record<string, unknown>) => {
    const body = { model, messages: user, max_tokens: 1, temperature: 0, ...(kwargs ? { chat_template_kwargs: kwargs } : {}) };
    return (await client.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming)).usage!.prompt_tokens;
  };
  const off = ids(qwen, `${head}<think>\n\n</think>\n\n`).length;
  assert.equal(await ask(), ids(qwen, head).length);
  assert.equal(await ask({ enable_thinking: true }), ids(qwen, head).length);
  assert.equal(await ask({ enable_thinking: false }), off);
  assert.ok(off > ids(qwen, head).length);
  const ollama = new Ollama({ host: qwen.base, headers: { authorization: `Bearer ${qwen.key}` } });
  const r = await ollama.chat({ model, messages: user, think: false, stream: false, options: { num_predict: 1 } });
  assert.equal(r.prompt_eval_count, off);
  const on = await ollama.chat({ model, messages: user, think: true, stream: false, options: { num_predict: 3, temperature: 0 } });
  assert.equal(on.prompt_eval_count, ids(qwen, head).length);
  // the random model writes no think block: everything it says is content
  const plain = await ollama.chat({ model, messages: user, stream: false, options: { num_predict: 3, temperature: 0 } });
  assert.equal(on.message.content, plain.message.content);
  // Anthropic's thinking disabled is the same switch
  const anthropic = new Anthropic({ baseURL: qwen.base, apiKey: qwen.key, maxRetries: 0 });
  const m = await anthropic.messages.create({ model, max_tokens: 1, messages: user, thinking: { type: 'disabled' } });
  assert.equal(m.usage.input_tokens, off);
  assert.equal((await anthropic.messages.countTokens({ model, messages: user, thinking: { type: 'disabled' } })).input_tokens, off);
  const g = new Ollama({ host: gemma.base, headers: { authorization: `Bearer ${gemma.key}` } });
  await assert.rejects(g.chat({ model: gemma.srv.host.ready().card.id, messages: user, think: true, stream: false }),
    (e: Error & { status_code?: number }) => e.status_code === 400 && /cannot think: its chat template has no thinking switch/.test(e.message));
});

test('the usage audit counts the families\' requests with their prompt tokens', async () => {
  const rows = qwen.store.usage.summary({ by: 'route' });
  const chat = rows.find((r) => r.group === '/v1/chat/completions');
  assert.ok(chat && chat.requests >= 5 && chat.promptTokens > 0, JSON.stringify(rows));
});

const QUERY = 'how do I light a wood fire';
const DOCS = [
  'Stack dry kindling under a few split logs and light the kindling.',
  'The stock market closed higher on Tuesday.',
  'A hearth is the floor of a fireplace.',
  'Cats sleep for most of the day.',
];

/** fetch with the key and a JSON body. */
async function post(s: Served, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(s.base + path, {
    method: 'POST', headers: { authorization: `Bearer ${s.key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

test('/v1/rerank over a bert reranker (fetch): the engine\'s scores, best first, top_n and documents as asked', async () => {
  const model = ranker.srv.host.ready().card.id;
  const want = rerank(ranker.srv.model, QUERY, DOCS);
  const order = DOCS.map((_, i) => i).sort((a, b) => want.scores[b] - want.scores[a]);
  const r = await post(ranker, '/v1/rerank', { model, query: QUERY, documents: DOCS, top_n: 3, return_documents: true });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.model, model);
  assert.equal(r.json.object, 'list');
  assert.deepEqual(r.json.usage, { prompt_tokens: want.tokens, total_tokens: want.tokens });
  assert.deepEqual(r.json.results.map((x: { index: number }) => x.index), order.slice(0, 3));
  for (const x of r.json.results) {
    assert.ok(Math.abs(x.relevance_score - want.scores[x.index]) < 1e-4, `${x.relevance_score} vs ${want.scores[x.index]}`);
    assert.deepEqual(x.document, { text: DOCS[x.index] });
  }
  // the scores spread (a reranker that said the same of every document would pass nothing above)
  assert.ok(Math.max(...want.scores) - Math.min(...want.scores) > 1e-3, JSON.stringify(want.scores));
  // /rerank, {text} documents, every result, no documents echoed
  const all = await post(ranker, '/rerank', { model, query: QUERY, documents: DOCS.map((text) => ({ text })) });
  assert.deepEqual(all.json.results.map((x: { index: number }) => x.index), order);
  assert.ok(all.json.results.every((x: object) => !('document' in x)));
  // TEI's shape
  const tei = await post(ranker, '/rerank', { model, query: QUERY, texts: DOCS, return_text: true });
  assert.deepEqual(tei.json.map((x: { index: number; text: string }) => [x.index, x.text]), order.map((i) => [i, DOCS[i]]));
  // the audit has the request with its tokens
  const row = ranker.store.usage.summary({ by: 'route' }).find((x) => x.group === '/v1/rerank');
  assert.equal(row?.promptTokens, want.tokens);
});

test('the reranker through openai\'s raw post; it refuses to chat or embed, naming why; /v1/models says rerank', async () => {
  const client = openai(ranker);
  const model = ranker.srv.host.ready().card.id;
  const r = await client.post<{ results: { index: number; relevance_score: number }[] }>('/rerank', { body: { model, query: QUERY, documents: DOCS, top_n: 1 } });
  assert.equal(r.results.length, 1);
  const want = rerank(ranker.srv.model, QUERY, DOCS).scores;
  assert.equal(r.results[0].index, want.indexOf(Math.max(...want)));
  await assert.rejects(client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }),
    (e: InstanceType<typeof OpenAI.BadRequestError>) => e.status === 400 && e.param === 'model' &&
      /cannot chat: bert is an encoder \(bidirectional attention, no language-model head\): it gives relevance scores, not text/.test(e.message));
  await assert.rejects(client.embeddings.create({ model, input: 'hi' }),
    (e: InstanceType<typeof OpenAI.BadRequestError>) => e.status === 400 && /cannot embed: it is a reranker/.test(e.message));
  const listed = await client.models.list();
  assert.deepEqual((listed.data[0] as unknown as { capabilities: string[] }).capabilities, ['rerank']);
  // and a decoder cannot rerank
  const q = await post(qwen, '/v1/rerank', { model: qwen.srv.host.ready().card.id, query: QUERY, documents: DOCS });
  assert.equal(q.status, 400);
  assert.match(q.json.error.message, /cannot rerank: it is not a reranker/);
});

test('embeddings dimensions (openai, ollama): the first components of the full vector at unit length', async () => {
  const model = qwen.srv.host.ready().card.id;
  const client = openai(qwen);
  const full = (await client.embeddings.create({ model, input: 'a warm hearth', encoding_format: 'float' })).data[0].embedding;
  assert.equal(full.length, 256);
  const short = (await client.embeddings.create({ model, input: 'a warm hearth', encoding_format: 'float', dimensions: 64 })).data[0].embedding;
  assert.equal(short.length, 64);
  const norm = Math.hypot(...full.slice(0, 64));
  short.forEach((x, i) => assert.ok(Math.abs(x - full[i] / norm) < 1e-6));
  const ollama = new Ollama({ host: qwen.base, headers: { authorization: `Bearer ${qwen.key}` } });
  const o = await ollama.embed({ model, input: ['a warm hearth'], dimensions: 64 });
  o.embeddings[0].forEach((x, i) => assert.ok(Math.abs(x - short[i]) < 1e-6));
  await assert.rejects(client.embeddings.create({ model, input: 'x', dimensions: 257 }),
    (e: InstanceType<typeof OpenAI.BadRequestError>) => e.status === 400 && /dimensions must be an integer from 1 to 256/.test(e.message));
});

test('a nomic-bert embedder: Matryoshka dimensions, embedding-only capabilities, chat refused naming why', async () => {
  const model = nomic.srv.host.ready().card.id;
  const client = openai(nomic);
  const inputs = ['a warm hearth', 'stock prices fell'];
  const full = (await client.embeddings.create({ model, input: inputs, encoding_format: 'float' })).data.map((d) => d.embedding);
  assert.equal(full[0].length, 128);
  // base64 (the SDK's default) with dimensions: 32 components each, the full vectors cut and re-normalised
  const short = (await client.embeddings.create({ model, input: inputs, dimensions: 32 })).data.map((d) => d.embedding);
  short.forEach((v, j) => {
    assert.equal(v.length, 32);
    const norm = Math.hypot(...full[j].slice(0, 32));
    v.forEach((x, i) => assert.ok(Math.abs(x - full[j][i] / norm) < 1e-6));
  });
  const ollama = new Ollama({ host: nomic.base, headers: { authorization: `Bearer ${nomic.key}` } });
  assert.deepEqual((await ollama.show({ model })).capabilities, ['embedding']);
  await assert.rejects(ollama.chat({ model, messages: [{ role: 'user', content: 'hi' }], stream: false }),
    (e: Error & { status_code?: number }) => e.status_code === 400 && /cannot chat: nomic-bert is an encoder .*it gives embeddings, not text/.test(e.message));
  await assert.rejects(client.completions.create({ model, prompt: 'hi' }),
    (e: InstanceType<typeof OpenAI.BadRequestError>) => e.status === 400 && /cannot generate text: nomic-bert is an encoder/.test(e.message));
});

test('hearth rerank MODEL --query Q FILE… prints index, score and file, best first', () => {
  const dir = tempDir('hearth-rerank-cli-');
  const files = DOCS.map((d, i) => {
    const f = join(dir, `doc${i}.txt`);
    writeFileSync(f, d);
    return f;
  });
  const want = rerank(ranker.srv.model, QUERY, DOCS).scores;
  const order = DOCS.map((_, i) => i).sort((a, b) => want[b] - want[a]);
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'hearth.js'), 'rerank', ranker.srv.host.ready().info.path, '--query', QUERY, ...files],
    { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => l.split('\t'));
  assert.deepEqual(lines.map((l) => Number(l[0])), order);
  assert.deepEqual(lines.map((l) => l[2]), order.map((i) => files[i]));
  lines.forEach((l) => assert.ok(Math.abs(Number(l[1]) - want[Number(l[0])]) < 1e-4));
  const refused = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'hearth.js'), 'rerank', qwen.srv.host.ready().info.path, '--query', QUERY, files[0]],
    { encoding: 'utf8', timeout: 60_000 });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /cannot rerank: it is not a reranker/);
});
