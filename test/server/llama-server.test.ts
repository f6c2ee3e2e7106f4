// llama-server's native endpoints of `hearth serve` (/completion, /infill, /tokenize, /detokenize, /apply-template,
// /embedding, /props, /slots, /health), on a live server over loopback, with the request and response fields its
// README documents, a stream read line by line as SillyTavern reads it, and an infill request as llama.vscode sends it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FIM_IDS, STORIES, TEST_TEMPLATE, fimModelPath, reference, startServer, until, type TestServer } from './harness.ts';
import { startSecureServer, call, type SecureServer } from '../security/harness.ts';
import { renderChat } from '../../src/chat/prompt.ts';
import { embed } from '../../src/engine/embed.ts';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/server/app.ts';
import { ModelManager } from '../../src/provider/model-manager.ts';
import { localModelLoader } from '../../src/provider/local-provider.ts';
import { canonicalName, describeFile } from '../../src/library/describe.ts';
import { requireReference, runReference } from '../reference/client.ts';

let srv: TestServer;
let plain: TestServer;
const NCTX = 512;
const NBATCH = 128;

before(async () => {
  // nBatch 128: the infill budget (3/4 of it for the prefix, 1/4 for the suffix, the rest of the context for input_extra)
  srv = await startServer({ source: () => ({ path: fimModelPath(), load: { nCtx: NCTX, nBatch: NBATCH } }), parallel: 2 });
  plain = await startServer({ path: STORIES, parallel: 1 });
});
after(async () => {
  await srv.close();
  await plain.close();
});

const M = 'stories-fim';
const post = async (base: string, path: string, body: unknown): Promise<{ status: number; json: any; headers: Headers }> => {
  const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json(), headers: r.headers };
};
const get = async (base: string, path: string): Promise<{ status: number; json: any }> => {
  const r = await fetch(base + path);
  return { status: r.status, json: await r.json() };
};
/** Prompt tokens as llama-server makes them from a string: special tokens parsed, BOS as the vocabulary says. */
const tokensOf = (text: string) => srv.model.tokenizer.encode(text, { parseSpecial: true });
const plainTokens = (text: string) => srv.model.tokenizer.encode(text, { addBos: false, parseSpecial: false });

test('POST /completion: the README example; greedy content equals the engine, and every documented field is there', async () => {
  const prompt = 'Building a website can be done in 10 simple steps:';
  const { status, json } = await post(srv.base, '/completion', { prompt, n_predict: 16, temperature: 0 });
  assert.equal(status, 200);
  const want = await reference(srv.model, tokensOf(prompt), { maxTokens: 16 });
  assert.equal(json.content, want.text);
  for (const k of ['content', 'tokens', 'id_slot', 'stop', 'model', 'tokens_predicted', 'tokens_evaluated', 'generation_settings', 'prompt',
    'truncated', 'stop_type', 'stopping_word', 'tokens_cached', 'timings']) assert.ok(k in json, k);
  assert.equal(json.stop, true);
  assert.deepEqual(json.tokens, []);
  assert.equal(json.model, M);
  assert.equal(json.tokens_predicted, 16);
  assert.equal(json.tokens_evaluated, tokensOf(prompt).length);
  assert.equal(json.stop_type, 'limit');
  assert.equal(json.stopping_word, '');
  assert.equal(json.truncated, false);
  assert.equal(json.id_slot, -1);
  assert.equal(json.prompt, srv.model.tokenizer.decode(tokensOf(prompt), { skipSpecial: false }));
  assert.equal(json.generation_settings.n_predict, 16);
  assert.equal(json.generation_settings.temperature, 0);
  assert.equal(json.generation_settings.top_k, 40);
  assert.equal(json.generation_settings.seed, 4294967295);
  const t = json.timings;
  for (const k of ['prompt_n', 'prompt_ms', 'prompt_per_token_ms', 'prompt_per_second', 'predicted_n', 'predicted_ms', 'predicted_per_token_ms',
    'predicted_per_second']) assert.equal(typeof t[k], 'number', k);
  assert.equal(t.predicted_n, 16);
  assert.equal(t.prompt_n + json.tokens_cached, json.tokens_evaluated);
});

test('/completion prompt shapes: a string, its token ids, ids mixed with text, and a list of prompts (a list of results)', async () => {
  const text = 'Once upon a time';
  const ids = tokensOf(text);
  const want = await reference(srv.model, ids, { maxTokens: 8 });
  const a = await post(srv.base, '/completion', { prompt: text, n_predict: 8, temperature: 0, return_tokens: true });
  assert.equal(a.json.content, want.text);
  assert.deepEqual(a.json.tokens, want.tokens);
  const b = await post(srv.base, '/completion', { prompt: ids, n_predict: 8, temperature: 0 });
  assert.equal(b.json.content, want.text);
  // [BOS, " upon a time"]: the text after an id gets no BOS of its own.
  const mixed = [ids[0], ...plainTokens('Once')];
  const c = await post(srv.base, '/completion', { prompt: [ids[0], 'Once'], n_predict: 8, temperature: 0, return_tokens: true });
  assert.equal(c.json.content, (await reference(srv.model, mixed, { maxTokens: 8 })).text);
  assert.equal(c.json.tokens_evaluated, mixed.length);
  // n_predict 0: the prompt is evaluated, nothing generated.
  const zero = await post(srv.base, '/completion', { prompt: text, n_predict: 0 });
  assert.equal(zero.status, 200, JSON.stringify(zero.json));
  assert.deepEqual([zero.json.content, zero.json.tokens_predicted, zero.json.stop_type, zero.json.tokens_evaluated], ['', 0, 'limit', ids.length]);
  const d = await post(srv.base, '/completion', { prompt: ['Once upon a time', 'The little dog'], n_predict: 4, temperature: 0 });
  assert.ok(Array.isArray(d.json));
  assert.equal(d.json.length, 2);
  assert.equal(d.json[0].content, (await reference(srv.model, ids, { maxTokens: 4 })).text);
  assert.equal(d.json[1].content, (await reference(srv.model, tokensOf('The little dog'), { maxTokens: 4 })).text);
});

test('/completion stop words, n_probs, logit_bias (ban with false, in both forms), seed; unknown and not-yet-sampled fields are ignored', async () => {
  const prompt = 'Once upon a time';
  const base = await post(srv.base, '/completion', { prompt, n_predict: 24, temperature: 0, return_tokens: true });
  const word = base.json.content.trim().split(/\s+/)[2];
  const stopped = await post(srv.base, '/completion', { prompt, n_predict: 24, temperature: 0, stop: [word] });
  assert.equal(stopped.json.stop_type, 'word');
  assert.equal(stopped.json.stopping_word, word);
  assert.equal(stopped.json.content, base.json.content.slice(0, base.json.content.indexOf(word)));

  const probs = await post(srv.base, '/completion', { prompt, n_predict: 4, temperature: 0, n_probs: 3 });
  const cp = probs.json.completion_probabilities;
  assert.equal(cp.length, 4);
  assert.equal(cp[0].id, base.json.tokens[0]);
  assert.equal(typeof cp[0].token, 'string');
  assert.deepEqual(cp[0].bytes, [...srv.model.tokenizer.tokenBytes(cp[0].id)]);
  assert.ok(cp[0].logprob <= 0);
  assert.equal(cp[0].top_logprobs.length, 3);
  assert.equal(cp[0].top_logprobs[0].id, cp[0].id);
  for (const k of ['id', 'token', 'bytes', 'logprob']) assert.ok(k in cp[0].top_logprobs[0], k);
  const post2 = await post(srv.base, '/completion', { prompt, n_predict: 2, temperature: 0, n_probs: 2, post_sampling_probs: true });
  const p0 = post2.json.completion_probabilities[0];
  assert.ok(p0.prob > 0 && p0.prob <= 1);
  assert.equal(p0.top_probs.length, 2);

  const first = base.json.tokens[0];
  for (const logit_bias of [[[first, false]], { [String(first)]: false }]) {
    const banned = await post(srv.base, '/completion', { prompt, n_predict: 4, temperature: 0, return_tokens: true, logit_bias });
    assert.equal(banned.status, 200);
    assert.notEqual(banned.json.tokens[0], first, JSON.stringify(logit_bias));
  }

  const sampled = { prompt, n_predict: 12, temperature: 1, top_k: 0, top_p: 1, min_p: 0, seed: 42 };
  const s1 = await post(srv.base, '/completion', sampled);
  const s2 = await post(srv.base, '/completion', sampled);
  assert.equal(s1.json.content, s2.json.content);
  assert.equal(s1.json.generation_settings.seed, 42);

  // What SillyTavern sends for llama.cpp besides the engine's fields: ignored, as llama-server ignores fields it does not know.
  const extras = await post(srv.base, '/completion', {
    prompt, n_predict: 4, temperature: 0, mirostat: 0, mirostat_tau: 5, mirostat_eta: 0.1, xtc_probability: 0, xtc_threshold: 0.1, dry_multiplier: 0,
    dry_base: 1.75, dry_allowed_length: 2, dry_penalty_last_n: 0, dry_sequence_breakers: ['\n'], samplers: ['top_k', 'temperature'],
    dynatemp_range: 0, typical_p: 1, repeat_penalty: 1.1, repeat_last_n: 64, cache_prompt: true, id_slot: 0, n_keep: -1, ignore_eos: false,
    some_other_backend_field: 'x',
  });
  assert.equal(extras.status, 200);
  assert.equal(extras.json.generation_settings.n_keep, -1);
  assert.equal(extras.json.id_slot, 0);
});

/** The `data: ` lines of a streamed response, parsed as they arrive (what SillyTavern's llama.cpp backend does). */
async function readDataLines(res: Response): Promise<{ objects: any[]; other: string[] }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const objects: any[] = [];
  const other: string[] = [];
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('data: ')) objects.push(JSON.parse(line.slice(6)));
      else if (line.trim() !== '') other.push(line);
    }
  }
  return { objects, other };
}

test('streamed /completion read line by line: data lines only, each with content and stop false, the last stop true with timings', async () => {
  const prompt = 'The little dog';
  const res = await fetch(srv.base + '/completion', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, n_predict: 20, temperature: 0, stream: true, cache_prompt: true }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
  const { objects, other } = await readDataLines(res);
  assert.deepEqual(other, []);
  const last = objects.at(-1);
  const chunks = objects.slice(0, -1);
  assert.ok(chunks.length > 0);
  for (const c of chunks) {
    assert.equal(c.stop, false);
    assert.equal(typeof c.content, 'string');
    assert.ok(Array.isArray(c.tokens));
  }
  const text = chunks.map((c) => c.content).join('');
  assert.equal(text, (await reference(srv.model, tokensOf(prompt), { maxTokens: 20 })).text);
  assert.equal(chunks.flatMap((c) => c.tokens).length, 20);
  assert.equal(last.stop, true);
  assert.equal(last.content, '');
  assert.equal(last.tokens_predicted, 20);
  assert.equal(last.stop_type, 'limit');
  assert.equal(last.timings.predicted_n, 20);
  assert.equal(typeof last.timings.predicted_per_second, 'number');
  assert.equal(last.generation_settings.stream, true);

  // n_probs in a stream: each chunk carries its tokens' probabilities (SillyTavern's token probabilities view).
  const probs = await fetch(srv.base + '/completion', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, n_predict: 5, temperature: 0, stream: true, n_probs: 2 }),
  });
  const scored = (await readDataLines(probs)).objects.filter((o) => !o.stop);
  assert.equal(scored.flatMap((c) => c.completion_probabilities).length, 5);
  for (const c of scored) {
    assert.deepEqual(c.completion_probabilities.map((p: any) => p.id), c.tokens);
    for (const p of c.completion_probabilities) assert.equal(p.top_logprobs.length, 2);
  }
});

test('/infill as llama.vscode sends it: the FIM prompt is llama-server\'s token order, extras ignored; response_fields picks fields', async () => {
  const body = {
    id_slot: 0,
    input_prefix: 'Once upon a time, there was a',
    input_suffix: ' and they were happy.\n',
    input_extra: [{ filename: 'story.txt', text: 'Lily liked to play.\n' }, { filename: 'dog.txt', text: 'The dog ran.\n' }],
    prompt: ' little',
    n_predict: 8,
    top_k: 40,
    top_p: 0.99,
    temperature: 0,
    stream: false,
    samplers: ['top_k', 'top_p', 'infill'],
    cache_prompt: true,
    t_max_prompt_ms: 500,
    t_max_predict_ms: 1000,
    n_indent: 0,
  };
  const { status, json } = await post(srv.base, '/infill', body);
  assert.equal(status, 200, JSON.stringify(json));
  // Without FIM_REP / FIM_SEP tokens each extra chunk follows a "--- snippet ---" line; then [BOS] FIM_PRE prefix prompt FIM_SUF suffix FIM_MID.
  const snippet = plainTokens('\n\n--- snippet ---\n\n');
  const extra = body.input_extra.flatMap((c) => [...snippet, ...plainTokens(c.text)]);
  const tok = srv.model.tokenizer;
  const want = [...extra, ...(tok.addBos ? [tok.bosId] : []), FIM_IDS.pre, ...plainTokens(body.input_prefix), ...plainTokens(body.prompt),
    FIM_IDS.suf, ...plainTokens(body.input_suffix), FIM_IDS.mid];
  assert.equal(json.tokens_evaluated, want.length);
  assert.equal(json.prompt, tok.decode(want, { skipSpecial: false }));
  assert.equal(json.content, (await reference(srv.model, want, { maxTokens: 8 })).text);

  // llama.vim / llama.vscode ask for a few fields, nested ones by path.
  const picked = await post(srv.base, '/infill', { ...body, response_fields: ['content', 'timings/prompt_n', 'timings/predicted_n', 'truncated', 'nope'] });
  assert.deepEqual(Object.keys(picked.json).sort(), ['content', 'timings/predicted_n', 'timings/prompt_n', 'truncated']);
  assert.equal(picked.json.content, json.content);
  assert.equal(picked.json['timings/predicted_n'], 8);

  // A prefix longer than 3/4 of the batch keeps its end, as llama-server cuts it.
  const long = 'the dog ran and the cat sat. '.repeat(40);
  const cut = await post(srv.base, '/infill', { input_prefix: long, input_suffix: '', n_predict: 1, temperature: 0 });
  const prefixIds = plainTokens(long);
  const kept = prefixIds.slice(prefixIds.length - 3 * (NBATCH / 4));
  assert.equal(cut.json.tokens_evaluated, (tok.addBos ? 1 : 0) + 1 + kept.length + 1 + 1);
});

test('llama.cpp reads the same FIM tokens from the file, and its infill order ([BOS] PRE prefix SUF suffix MID) is the prompt used', (t) => {
  if (!requireReference(t)) return;
  const prefix = 'Once upon a time, there was a';
  const suffix = ' who liked to play.';
  const r = runReference({
    model: fimModelPath(), vocabOnly: true,
    ops: [prefix, suffix].map((text) => ({ op: 'tokenize' as const, text, addBos: false, parseSpecial: false })),
  });
  assert.deepEqual(r.info.fim, FIM_IDS);
  const [p, s] = r.results.map((x) => (x.op === 'tokenize' ? x.tokens : []));
  const want = [...(r.info.addBos && r.info.bos !== null ? [r.info.bos] : []), FIM_IDS.pre, ...p, FIM_IDS.suf, ...s, FIM_IDS.mid];
  assert.deepEqual(srv.host.ready().tokenize({ kind: 'infill', prefix, suffix }), want);
});

test('fill in the middle through /v1/completions suffix and /api/generate suffix: the same prompt as /infill', async () => {
  const prefix = 'Once upon a time, there was a';
  const suffix = ' who liked to play.';
  const tok = srv.model.tokenizer;
  const ids = [...(tok.addBos ? [tok.bosId] : []), FIM_IDS.pre, ...plainTokens(prefix), FIM_IDS.suf, ...plainTokens(suffix), FIM_IDS.mid];
  const want = await reference(srv.model, ids, { maxTokens: 10 });
  const infill = await post(srv.base, '/infill', { input_prefix: prefix, input_suffix: suffix, n_predict: 10, temperature: 0 });
  assert.equal(infill.json.content, want.text);
  const openai = await post(srv.base, '/v1/completions', { model: M, prompt: prefix, suffix, max_tokens: 10, temperature: 0 });
  assert.equal(openai.status, 200, JSON.stringify(openai.json));
  assert.equal(openai.json.choices[0].text, want.text);
  assert.equal(openai.json.usage.prompt_tokens, ids.length);
  const ollama = await post(srv.base, '/api/generate', { model: M, prompt: prefix, suffix, stream: false, options: { num_predict: 10, temperature: 0 } });
  assert.equal(ollama.status, 200, JSON.stringify(ollama.json));
  assert.equal(ollama.json.response, want.text);
  assert.equal(ollama.json.prompt_eval_count, ids.length);
});

test('a model without FIM tokens: /infill, /v1/completions suffix and /api/generate suffix are 400s that say so', async () => {
  const infill = await post(plain.base, '/infill', { input_prefix: 'a', input_suffix: 'b' });
  assert.equal(infill.status, 400);
  assert.equal(infill.json.error.code, 400);
  assert.equal(infill.json.error.type, 'invalid_request_error');
  assert.match(infill.json.error.message, /cannot fill in the middle: its vocabulary has no FIM_PRE, FIM_SUF, FIM_MID token/);
  const openai = await post(plain.base, '/v1/completions', { model: 'stories260K', prompt: 'a', suffix: 'b' });
  assert.equal(openai.status, 400);
  assert.match(openai.json.error.message, /cannot fill in the middle/);
  const ollama = await post(plain.base, '/api/generate', { model: 'stories260K', prompt: 'a', suffix: 'b', stream: false });
  assert.equal(ollama.status, 400);
  assert.match(ollama.json.error, /cannot fill in the middle/);
  const missing = await post(srv.base, '/infill', { input_prefix: 'a' });
  assert.equal(missing.status, 400);
  assert.match(missing.json.error.message, /input_suffix is required/);
});

test('/tokenize with_pieces round-trips through /detokenize; the README\'s "á" on stories260K gives byte pieces', async () => {
  const special = await post(srv.base, '/tokenize', { content: 'the <s> dog' });
  assert.ok(special.json.tokens.includes(srv.model.tokenizer.bosId));
  const content = 'Hello world, the dog';
  const ids = await post(srv.base, '/tokenize', { content });
  assert.deepEqual(ids.json.tokens, srv.model.tokenizer.encode(content, { addBos: false, parseSpecial: true }));
  const bos = await post(srv.base, '/tokenize', { content, add_special: true });
  assert.equal(bos.json.tokens[0], srv.model.tokenizer.bosId);
  const literal = await post(srv.base, '/tokenize', { content, parse_special: false });
  assert.deepEqual(literal.json.tokens, srv.model.tokenizer.encode(content, { addBos: false, parseSpecial: false }));
  const pieces = await post(srv.base, '/tokenize', { content, with_pieces: true });
  assert.deepEqual(pieces.json.tokens.map((t: any) => t.id), ids.json.tokens);
  const back = await post(srv.base, '/detokenize', { tokens: ids.json.tokens });
  assert.equal(back.json.content, pieces.json.tokens.map((t: any) => t.piece).join(''));
  assert.equal(back.json.content.trim(), content);

  const a = await post(plain.base, '/tokenize', { content: 'á', with_pieces: true });
  const bytes = a.json.tokens.filter((t: any) => Array.isArray(t.piece));
  assert.deepEqual(bytes, [{ id: 198, piece: [195] }, { id: 164, piece: [161] }]);
  assert.equal((await post(plain.base, '/detokenize', { tokens: a.json.tokens.map((t: any) => t.id) })).json.content.trim(), 'á');
});

test('/apply-template renders as chat completions does: its prompt sent to /completion gives the chat answer', async () => {
  const messages = [{ role: 'system', content: 'Tell a story.' }, { role: 'user', content: 'Once upon a time' }];
  const { json } = await post(srv.base, '/apply-template', { messages });
  const tok = srv.model.tokenizer;
  assert.equal(json.prompt, renderChat({ tokenizer: tok, chatTemplate: TEST_TEMPLATE }, messages));
  const chat = await post(srv.base, '/v1/chat/completions', { model: M, messages, max_tokens: 10, temperature: 0 });
  const completion = await post(srv.base, '/completion', { prompt: json.prompt, n_predict: 10, temperature: 0 });
  assert.equal(completion.json.content, chat.json.choices[0].message.content);
  assert.equal(completion.json.tokens_evaluated, chat.json.usage.prompt_tokens);
});

test('/embedding and /embeddings: [{index, embedding: [[pooled vector]]}], L2-normalised as /v1/embeddings', async () => {
  const r = await post(srv.base, '/embedding', { content: 'Once upon a time' });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.length, 1);
  assert.equal(r.json[0].index, 0);
  assert.equal(r.json[0].embedding.length, 1);
  const v: number[] = r.json[0].embedding[0];
  const want = embed(srv.model, srv.model.tokenizer.encode('Once upon a time'));
  assert.equal(v.length, want.length);
  v.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-4, `dim ${i}`));
  const many = await post(srv.base, '/embeddings', { content: ['a dog', 'a cat'] });
  assert.deepEqual(many.json.map((e: any) => e.index), [0, 1]);
  const none = await post(srv.base, '/embedding', { content: 'a dog', embd_normalize: 1 });
  assert.ok(Math.abs(none.json[0].embedding[0].reduce((s: number, x: number) => s + Math.abs(x), 0) - 1) < 1e-5);
});

test('GET /props and /slots (fail_on_no_slot: 503 while every slot is busy); /health answers status ok', async () => {
  const props = await get(srv.base, '/props');
  assert.equal(props.status, 200);
  assert.equal(props.json.total_slots, 2);
  assert.equal(props.json.model_path, fimModelPath());
  assert.equal(props.json.chat_template, TEST_TEMPLATE);
  assert.equal(props.json.default_generation_settings.n_ctx, NCTX);
  assert.equal(props.json.default_generation_settings.params.temperature, 0.8);
  assert.equal(typeof props.json.build_info, 'string');
  assert.equal(props.json.modalities.vision, false);
  assert.equal((await get(srv.base, `/props?model=${M}`)).status, 200);

  const idle = await get(srv.base, '/slots?fail_on_no_slot=1');
  assert.equal(idle.status, 200);
  assert.deepEqual(idle.json.map((s: any) => [s.id, s.n_ctx, s.is_processing]), [[0, NCTX, false], [1, NCTX, false]]);

  // Eight long streams on two slots: both stay busy while the rest wait their turn.
  const ac = new AbortController();
  const busy = [0, 1, 2, 3, 4, 5, 6, 7].map(() => fetch(srv.base + '/completion', {
    method: 'POST', signal: ac.signal, body: JSON.stringify({ prompt: 'Once', n_predict: 400, temperature: 1, stream: true }),
    headers: { 'content-type': 'application/json' },
  }).then((r) => r.body!.cancel(), () => {}));
  try {
    await until(() => srv.host.ready().stats().busy === 2, 5000);
    const listed = await get(srv.base, '/slots');
    assert.deepEqual(listed.json.map((s: any) => s.is_processing), [true, true]);
    const full = await get(srv.base, '/slots?fail_on_no_slot=1');
    assert.equal(full.status, 503);
    assert.deepEqual(full.json, { error: { code: 503, message: 'no slot available', type: 'unavailable_error' } });
  } finally {
    ac.abort();
    await Promise.all(busy);
  }

  const health = await get(srv.base, '/health');
  assert.equal(health.status, 200);
  assert.equal(health.json.status, 'ok');
  assert.equal((await get(srv.base, '/v1/health')).json.status, 'ok');
});

test('errors in llama-server\'s shape; no model field picks the only model, an unknown one is a 404', async () => {
  const bad = await post(srv.base, '/completion', { prompt: 'x', n_predict: 'many' });
  assert.equal(bad.status, 400);
  assert.deepEqual(Object.keys(bad.json.error).sort(), ['code', 'message', 'type']);
  assert.match(bad.json.error.message, /n_predict must be a number/);
  const unknown = await post(srv.base, '/completion', { model: 'nope', prompt: 'x' });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error.type, 'not_found_error');
  const named = await post(srv.base, '/completion', { model: M, prompt: 'x', n_predict: 1 });
  assert.equal(named.status, 200);
});

let secure: SecureServer;

test('keys: the llama-server endpoints need the inference scope (GET /props, /slots: models:read); POST /props needs admin', async () => {
  secure = await startSecureServer();
  try {
    const user = secure.store.keys.create({ name: 'user' }).secret;
    const admin = secure.store.keys.create({ name: 'admin', scopes: ['admin'] }).secret;
    const reader = secure.store.keys.create({ name: 'reader', scopes: ['models:read'] }).secret;
    assert.equal((await call(secure.base, '/completion', { body: { prompt: 'Once', n_predict: 2 } })).status, 401);
    assert.equal((await call(secure.base, '/completion', { key: user, body: { prompt: 'Once', n_predict: 2 } })).status, 200);
    assert.equal((await call(secure.base, '/tokenize', { key: reader, body: { content: 'Once' } })).status, 403);
    assert.equal((await call(secure.base, '/props', { key: reader, method: 'GET' })).status, 200);
    assert.equal((await call(secure.base, '/slots', { key: user, method: 'GET' })).status, 200);
    const refused = await call(secure.base, '/props', { key: user, body: {} });
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error.type, 'permission_error');
    assert.equal((await call(secure.base, '/props', { key: admin, body: {} })).status, 200);
    assert.equal((await call(secure.base, '/health', { method: 'GET' })).status, 200);
    // A key held to other models may not reach the served one by leaving the model field out.
    const other = secure.store.keys.create({ name: 'other', models: ['someone-else'] }).secret;
    assert.equal((await call(secure.base, '/completion', { key: other, body: { prompt: 'Once', n_predict: 2 } })).status, 403);
    assert.equal((await call(secure.base, '/props?model=stories260K', { key: other, method: 'GET' })).status, 403);
  } finally {
    await secure.close();
  }
});

test('/completion grammar and json_schema constrain the output (an empty grammar next to a schema is none)', async () => {
  const g = await post(srv.base, '/completion', { prompt: 'Once upon a time', n_predict: 8, temperature: 0, grammar: 'root ::= "yes" | "no"' });
  assert.equal(g.status, 200, JSON.stringify(g.json));
  assert.ok(['yes', 'no'].includes(g.json.content), g.json.content);
  assert.equal(g.json.generation_settings.grammar, 'root ::= "yes" | "no"');
  const s = await post(srv.base, '/completion', { prompt: 'Once upon a time', n_predict: 8, temperature: 0, grammar: '', json_schema: { enum: ['cat', 'dog'] } });
  assert.equal(s.status, 200, JSON.stringify(s.json));
  assert.ok(['"cat"', '"dog"'].includes(s.json.content), s.json.content);
});

test('several models: no model field goes to the only one loaded, else the only one served; otherwise a 400 that lists them', async () => {
  const entries = [describeFile(STORIES, { name: 'small' }), describeFile(fimModelPath(), { name: 'fim' })];
  const models = new ModelManager({
    source: { list: () => entries, get: (n) => entries.find((m) => canonicalName(m.name) === canonicalName(n)) },
    load: localModelLoader({ scheduler: { parallel: 1, queueLimit: 4 } }),
    keepAliveMs: -1,
  });
  const app = createApp({ models });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  try {
    const none = await post(base, '/completion', { prompt: 'Once', n_predict: 2 });
    assert.equal(none.status, 400);
    assert.match(none.json.error.message, /serves several models \("small", "fim"\); name one in the model field/);
    assert.equal((await get(base, '/props')).status, 400);
    const small = await post(base, '/completion', { model: 'small', prompt: 'Once', n_predict: 2 });
    assert.equal(small.json.model, 'small');
    assert.equal((await post(base, '/completion', { prompt: 'Once', n_predict: 2 })).json.model, 'small');
    assert.equal((await get(base, '/props?model=fim')).json.model_alias, 'fim');
    const two = await post(base, '/tokenize', { content: 'Once' });
    assert.equal(two.status, 400);
    assert.match(two.json.error.message, /has several models loaded \("small", "fim"\)/);
    assert.equal((await post(base, '/infill', { model: 'fim', input_prefix: 'a', input_suffix: 'b', n_predict: 1 })).status, 200);
  } finally {
    await app.close();
    await models.close();
  }
});
