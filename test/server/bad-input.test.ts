// Bad requests, table-driven: each gets its dialect's error shape, a 4xx status and a message naming the fault.
// The server runs strict (hearth serve --strict), so an unknown field is one of them (tolerant.test.ts: by default
// they are ignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { startServer, type TestServer } from './harness.ts';

let srv: TestServer;
before(async () => {
  srv = await startServer({ parallel: 1, app: { bodyLimit: 64 * 1024, strict: true } });
});
after(() => srv.close());

const JSON_TYPE = { 'content-type': 'application/json' };
const M = 'stories260K';
const msgs = [{ role: 'user', content: 'hi' }];

interface Case {
  name: string;
  path: string;
  body: unknown;
  headers?: Record<string, string>;
  status: number;
  /** The message must match. */
  message: RegExp;
  /** OpenAI's `param`. */
  param?: string;
}

const OPENAI: Case[] = [
  { name: 'invalid JSON', path: '/v1/chat/completions', body: '{"model":', status: 400, message: /not valid JSON/ },
  { name: 'empty body', path: '/v1/chat/completions', body: '', status: 400, message: /body is empty/ },
  { name: 'body is an array', path: '/v1/chat/completions', body: [], status: 400, message: /must be a JSON object; got an array/ },
  { name: 'wrong content type', path: '/v1/chat/completions', body: JSON.stringify({ model: M, messages: msgs }), headers: { 'content-type': 'text/plain' }, status: 415, message: /Content-Type must be application\/json/ },
  { name: 'invalid UTF-8', path: '/v1/chat/completions', body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), status: 400, message: /not valid UTF-8/ },
  { name: 'body over the limit', path: '/v1/chat/completions', body: JSON.stringify({ model: M, messages: [{ role: 'user', content: 'x'.repeat(70 * 1024) }] }), status: 413, message: /larger than the server accepts/ },
  { name: 'missing model', path: '/v1/chat/completions', body: { messages: msgs }, status: 400, message: /model is required/, param: 'model' },
  { name: 'unknown model', path: '/v1/chat/completions', body: { model: 'gpt-4o', messages: msgs }, status: 404, message: /model "gpt-4o" is not served here/, param: 'model' },
  { name: 'messages missing', path: '/v1/chat/completions', body: { model: M }, status: 400, message: /messages is required/, param: 'messages' },
  { name: 'messages empty', path: '/v1/chat/completions', body: { model: M, messages: [] }, status: 400, message: /messages must not be empty/, param: 'messages' },
  { name: 'bad role', path: '/v1/chat/completions', body: { model: M, messages: [{ role: 'robot', content: 'x' }] }, status: 400, message: /messages\[0\]\.role must be one of/, param: 'messages[0].role' },
  { name: 'content of the wrong kind', path: '/v1/chat/completions', body: { model: M, messages: [{ role: 'user', content: 5 }] }, status: 400, message: /messages\[0\]\.content must be a string or an array/, param: 'messages[0].content' },
  { name: 'image part with a URL that is no data URL', path: '/v1/chat/completions', body: { model: M, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, status: 400, message: /must be a data URL/, param: 'messages[0].content[0].image_url.url' },
  { name: 'audio part', path: '/v1/chat/completions', body: { model: M, messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] }, status: 400, message: /only text and image_url parts/, param: 'messages[0].content[0].type' },
  { name: 'temperature too high', path: '/v1/chat/completions', body: { model: M, messages: msgs, temperature: 3 }, status: 400, message: /temperature must be <= 2/, param: 'temperature' },
  { name: 'temperature a string', path: '/v1/chat/completions', body: { model: M, messages: msgs, temperature: 'hot' }, status: 400, message: /temperature must be a number; got the string "hot"/, param: 'temperature' },
  { name: 'top_p out of range', path: '/v1/chat/completions', body: { model: M, messages: msgs, top_p: 1.5 }, status: 400, message: /top_p must be <= 1/, param: 'top_p' },
  { name: 'max_tokens zero', path: '/v1/chat/completions', body: { model: M, messages: msgs, max_tokens: 0 }, status: 400, message: /max_tokens must be >= 1/, param: 'max_tokens' },
  { name: 'max_tokens beyond the context', path: '/v1/chat/completions', body: { model: M, messages: msgs, max_tokens: 1e20 }, status: 400, message: /the prompt \(\d+ tokens\) \+ max_tokens exceeds the context of \d+ tokens/, param: 'max_tokens' },
  { name: 'max_completion_tokens beyond the context', path: '/v1/chat/completions', body: { model: M, messages: msgs, max_completion_tokens: 1e6 }, status: 400, message: /max_completion_tokens exceeds the context/, param: 'max_completion_tokens' },
  { name: 'completions max_tokens beyond the context', path: '/v1/completions', body: { model: M, prompt: 'Once', max_tokens: 1e20 }, status: 400, message: /max_tokens exceeds the context/, param: 'max_tokens' },
  { name: 'max_tokens fractional', path: '/v1/chat/completions', body: { model: M, messages: msgs, max_tokens: 2.5 }, status: 400, message: /max_tokens must be an integer/, param: 'max_tokens' },
  { name: 'n too large', path: '/v1/chat/completions', body: { model: M, messages: msgs, n: 100 }, status: 400, message: /n must be <= 16/, param: 'n' },
  { name: 'five stop strings', path: '/v1/chat/completions', body: { model: M, messages: msgs, stop: ['a', 'b', 'c', 'd', 'e'] }, status: 400, message: /stop has 5 entries; at most 4/, param: 'stop' },
  { name: 'seed fractional', path: '/v1/chat/completions', body: { model: M, messages: msgs, seed: 1.5 }, status: 400, message: /seed must be an integer/, param: 'seed' },
  { name: 'top_logprobs without logprobs', path: '/v1/chat/completions', body: { model: M, messages: msgs, top_logprobs: 2 }, status: 400, message: /requires logprobs/, param: 'top_logprobs' },
  { name: 'stream_options without stream', path: '/v1/chat/completions', body: { model: M, messages: msgs, stream_options: { include_usage: true } }, status: 400, message: /only allowed when stream is true/, param: 'stream_options' },
  { name: 'logit_bias key not a token id', path: '/v1/chat/completions', body: { model: M, messages: msgs, logit_bias: { abc: 1 } }, status: 400, message: /logit_bias keys must be token ids/ },
  { name: 'logit_bias token outside vocabulary', path: '/v1/chat/completions', body: { model: M, messages: msgs, logit_bias: { 99999: 1 } }, status: 400, message: /logit bias: token 99999 is outside the vocabulary/ },
  { name: 'unknown field', path: '/v1/chat/completions', body: { model: M, messages: msgs, temprature: 1 }, status: 400, message: /unrecognized field temprature/, param: 'temprature' },
  { name: 'tool of another type', path: '/v1/chat/completions', body: { model: M, messages: msgs, tools: [{ type: 'retrieval', function: { name: 'f' } }] }, status: 400, message: /tools\[0\]\.type must be "function"/, param: 'tools[0].type' },
  { name: 'tool_choice without tools', path: '/v1/chat/completions', body: { model: M, messages: msgs, tool_choice: 'required' }, status: 400, message: /the request has no tools/, param: 'tool_choice' },
  { name: 'functions', path: '/v1/chat/completions', body: { model: M, messages: msgs, functions: [{ name: 'f' }] }, status: 400, message: /functions is not supported/, param: 'functions' },
  { name: 'json_schema without a name', path: '/v1/chat/completions', body: { model: M, messages: msgs, response_format: { type: 'json_schema', json_schema: {} } }, status: 400, message: /needs a name/, param: 'response_format.json_schema.name' },
  { name: 'json_schema keyword that cannot be honoured', path: '/v1/chat/completions', body: { model: M, messages: msgs, response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'array', uniqueItems: true } } } }, status: 400, message: /uniqueItems at \/uniqueItems is not supported/, param: 'response_format.json_schema.schema' },
  { name: 'malformed grammar', path: '/v1/chat/completions', body: { model: M, messages: msgs, grammar: 'root ::= [a-' }, status: 400, message: /grammar: line 1, column/, param: 'grammar' },
  { name: 'tool message without tool_call_id', path: '/v1/chat/completions', body: { model: M, messages: [{ role: 'tool', content: 'x' }] }, status: 400, message: /messages\[0\]\.tool_call_id is required/ },
  { name: 'prompt longer than the context', path: '/v1/completions', body: { model: M, prompt: 'Once upon a time '.repeat(600) }, status: 400, message: /the prompt is \d+ tokens; the context window holds 2048/ },
  { name: 'prompt token id outside the vocabulary', path: '/v1/completions', body: { model: M, prompt: [1, 5, 9999] }, status: 400, message: /token id 9999 is outside the vocabulary/ },
  { name: 'prompt of the wrong kind', path: '/v1/completions', body: { model: M, prompt: { text: 'x' } }, status: 400, message: /prompt must be a string, an array of strings, or token ids/, param: 'prompt' },
  { name: 'suffix on a model without FIM tokens', path: '/v1/completions', body: { model: M, prompt: 'x', suffix: 'y' }, status: 400, message: /cannot fill in the middle: its vocabulary has no FIM_PRE, FIM_SUF, FIM_MID token/ },
  { name: 'best_of above n', path: '/v1/completions', body: { model: M, prompt: 'x', best_of: 3 }, status: 400, message: /best_of must equal n/, param: 'best_of' },
  { name: 'embeddings: empty string', path: '/v1/embeddings', body: { model: M, input: '' }, status: 400, message: /empty string has no embedding/, param: 'input' },
  { name: 'embeddings: bad encoding', path: '/v1/embeddings', body: { model: M, input: 'x', encoding_format: 'hex' }, status: 400, message: /encoding_format must be one of "float", "base64"/, param: 'encoding_format' },
  { name: 'embeddings: dimensions beyond the width', path: '/v1/embeddings', body: { model: M, input: 'x', dimensions: 65 }, status: 400, message: /dimensions must be an integer from 1 to 64 \(this model's embedding width\); got 65/, param: 'dimensions' },
  { name: 'embeddings: dimensions zero', path: '/v1/embeddings', body: { model: M, input: 'x', dimensions: 0 }, status: 400, message: /dimensions must be >= 1/, param: 'dimensions' },
  { name: 'rerank: a model that is no reranker', path: '/v1/rerank', body: { model: M, query: 'q', documents: ['a', 'b'] }, status: 400, message: /model "stories260K" cannot rerank: it is not a reranker/, param: 'model' },
  { name: 'rerank: empty documents', path: '/v1/rerank', body: { model: M, query: 'q', documents: [] }, status: 400, message: /documents must be a non-empty list/, param: 'documents' },
  { name: 'rerank: no query', path: '/rerank', body: { model: M, documents: ['a'] }, status: 400, message: /query is required/, param: 'query' },
  { name: 'rerank: a document of the wrong kind', path: '/v1/rerank', body: { model: M, query: 'q', documents: ['a', 5] }, status: 400, message: /documents\[1\] must be a string or an object with a text field/, param: 'documents[1]' },
  { name: 'rerank: top_n zero', path: '/v1/rerank', body: { model: M, query: 'q', documents: ['a'], top_n: 0 }, status: 400, message: /top_n must be >= 1/, param: 'top_n' },
  { name: 'unknown route', path: '/v1/nothing', body: {}, status: 404, message: /no route for POST \/v1\/nothing/ },
];

const OLLAMA: Case[] = [
  { name: 'invalid JSON', path: '/api/generate', body: '{', status: 400, message: /not valid JSON/ },
  { name: 'missing model', path: '/api/chat', body: { messages: msgs }, status: 400, message: /model is required/ },
  { name: 'unknown model', path: '/api/chat', body: { model: 'llama3', messages: msgs }, status: 404, message: /model "llama3" is not served/ },
  { name: 'options not an object', path: '/api/generate', body: { model: M, prompt: 'x', options: 3 }, status: 400, message: /options must be an object/ },
  { name: 'unknown option', path: '/api/generate', body: { model: M, prompt: 'x', options: { temprature: 1 } }, status: 400, message: /unrecognized field options\.temprature/ },
  { name: 'num_predict below -2', path: '/api/generate', body: { model: M, prompt: 'x', options: { num_predict: -3 } }, status: 400, message: /options\.num_predict must be >= -2/ },
  { name: 'top_k negative', path: '/api/generate', body: { model: M, prompt: 'x', options: { top_k: -1 } }, status: 400, message: /options\.top_k must be >= 0/ },
  { name: 'bad keep_alive', path: '/api/generate', body: { model: M, prompt: 'x', keep_alive: 'forever' }, status: 400, message: /keep_alive must be a duration/ },
  { name: 'format neither json nor a schema', path: '/api/generate', body: { model: M, prompt: 'x', format: 'yaml' }, status: 400, message: /format must be "json" or a JSON schema/ },
  { name: 'format schema keyword that cannot be honoured', path: '/api/chat', body: { model: M, messages: msgs, format: { type: 'object', patternProperties: {} } }, status: 400, message: /patternProperties/ },
  { name: 'think on a model without a thinking switch', path: '/api/chat', body: { model: M, messages: msgs, think: true }, status: 400, message: /model "stories260K" cannot think: its chat template has no thinking switch/ },
  { name: 'think levels', path: '/api/chat', body: { model: M, messages: msgs, think: 'high' }, status: 400, message: /thinking levels \("high"\) are not implemented/ },
  { name: 'embed: dimensions beyond the width', path: '/api/embed', body: { model: M, input: 'x', dimensions: 100 }, status: 400, message: /dimensions must be an integer from 1 to 64/ },
  { name: 'images on a text-only model', path: '/api/generate', body: { model: M, prompt: 'x', images: ['AAAA'] }, status: 400, message: /model "stories260K" cannot read images/ },
  { name: 'template', path: '/api/generate', body: { model: M, prompt: 'x', template: '{{ .Prompt }}' }, status: 400, message: /template is not supported/ },
  { name: 'context outside the vocabulary handled as ids', path: '/api/generate', body: { model: M, prompt: 'x', context: [1, 'a'] }, status: 400, message: /context\[1\] must be a number/ },
  { name: 'bad message role', path: '/api/chat', body: { model: M, messages: [{ role: 'bot', content: 'x' }] }, status: 400, message: /messages\[0\]\.role must be one of/ },
  { name: 'num_ctx smaller than the prompt', path: '/api/generate', body: { model: M, prompt: 'Once upon a time', raw: true, options: { num_ctx: 3 } }, status: 400, message: /context window holds 3 tokens/ },
  { name: 'embed: empty input list', path: '/api/embed', body: { model: M, input: [] }, status: 400, message: /input must not be empty/ },
  { name: 'show: no model', path: '/api/show', body: {}, status: 400, message: /model is required/ },
];

const ANTHROPIC: Case[] = [
  { name: 'invalid JSON', path: '/v1/messages', body: '{', status: 400, message: /not valid JSON/ },
  { name: 'wrong content type', path: '/v1/messages', body: '{}', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, message: /Content-Type must be application\/json/ },
  { name: 'max_tokens missing', path: '/v1/messages', body: { model: M, messages: msgs }, status: 400, message: /max_tokens is required/ },
  { name: 'bad role', path: '/v1/messages', body: { model: M, max_tokens: 5, messages: [{ role: 'system', content: 'x' }] }, status: 400, message: /messages\[0\]\.role must be one of "user", "assistant"/ },
  { name: 'temperature above 1', path: '/v1/messages', body: { model: M, max_tokens: 5, messages: msgs, temperature: 1.5 }, status: 400, message: /temperature must be <= 1/ },
  { name: 'empty stop sequence', path: '/v1/messages', body: { model: M, max_tokens: 5, messages: msgs, stop_sequences: [''] }, status: 400, message: /stop_sequences\[0\] must be a non-empty string/ },
  { name: 'thinking budget', path: '/v1/messages', body: { model: M, max_tokens: 5, messages: msgs, thinking: { type: 'enabled', budget_tokens: 1024 } }, status: 400, message: /thinking.budget_tokens \(1024\) must be less than max_tokens \(5\)/ },
  { name: 'thinking type', path: '/v1/messages', body: { model: M, max_tokens: 5, messages: msgs, thinking: { type: 'sometimes' } }, status: 400, message: /thinking.type must be one of "enabled", "disabled"/ },
  { name: 'tool_use block from the user', path: '/v1/messages', body: { model: M, max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'a', name: 'f', input: {} }] }] }, status: 400, message: /user block type "tool_use"/ },
  { name: 'unknown field', path: '/v1/messages', body: { model: M, max_tokens: 5, messages: msgs, temprature: 1 }, status: 400, message: /unrecognized field temprature/ },
  { name: 'max_tokens beyond the context', path: '/v1/messages', body: { model: M, max_tokens: 1e20, messages: msgs }, status: 400, message: /max_tokens exceeds the context/ },
  { name: 'count_tokens: unknown model', path: '/v1/messages/count_tokens', body: { model: 'claude-x', messages: msgs }, status: 404, message: /model "claude-x" is not served/ },
];

function post(path: string, body: unknown, headers: Record<string, string> = JSON_TYPE): Promise<{ status: number; json: any }> {
  const data = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${srv.base}${path}`, { method: 'POST', headers: { ...headers, 'content-length': data.length } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(parts).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

test('OpenAI endpoints: {error:{message,type,param,code}}', async (t) => {
  for (const c of OPENAI) {
    await t.test(c.name, async () => {
      const { status, json } = await post(c.path, c.body, c.headers);
      assert.equal(status, c.status, JSON.stringify(json));
      assert.deepEqual(Object.keys(json), ['error']);
      assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type']);
      assert.match(json.error.message, c.message);
      assert.equal(json.error.type, 'invalid_request_error');
      if (c.param) assert.equal(json.error.param, c.param);
    });
  }
});

test('Ollama endpoints: {error}', async (t) => {
  for (const c of OLLAMA) {
    await t.test(c.name, async () => {
      const { status, json } = await post(c.path, c.body, c.headers);
      assert.equal(status, c.status, JSON.stringify(json));
      assert.deepEqual(Object.keys(json), ['error']);
      assert.match(json.error, c.message);
    });
  }
});

test('Anthropic endpoints: {type:"error", error:{type,message}}', async (t) => {
  for (const c of ANTHROPIC) {
    await t.test(c.name, async () => {
      const { status, json } = await post(c.path, c.body, c.headers);
      assert.equal(status, c.status, JSON.stringify(json));
      assert.equal(json.type, 'error');
      assert.equal(json.error.type, c.status === 404 ? 'not_found_error' : 'invalid_request_error');
      assert.match(json.error.message, c.message);
    });
  }
});

test('no bad request left a slot busy or a request queued', () => {
  assert.deepEqual(srv.host.ready().stats(), { slots: 1, busy: 0, queued: 0 });
});
