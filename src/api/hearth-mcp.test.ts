// The request side of MCP tools: which servers each dialect's request names (labels only), how tool_choice and
// parallel_tool_calls apply to MCP tools, and the fields that would say where a server is, refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chatRequestFromOpenAI } from './openai/chat.ts';
import { responsesNative, responsesRequestFromOpenAI } from './openai/responses-request.ts';
import { messagesRequestFromAnthropic } from './anthropic/messages.ts';
import { chatRequestFromOllama } from './ollama/generate.ts';
import type { FieldError } from './validate.ts';

let n = 0;
const newId = (prefix: string) => `${prefix}${++n}`;
const messages = [{ role: 'user', content: 'hi' }];
const param = (re: RegExp, p: string) => (e: unknown) => (e as FieldError).param === p && re.test((e as Error).message);

test('hearth_mcp in chat completions, /v1/messages and /api/chat: labels, allowed_tools, a forced first call', () => {
  const openai = chatRequestFromOpenAI({ model: 'm', messages, hearth_mcp: ['files', { server_label: 'web', allowed_tools: ['search'] }], tool_choice: 'required', parallel_tool_calls: false });
  assert.deepEqual(openai.mcp, [{ label: 'files' }, { label: 'web', allowedTools: ['search'] }]);
  const p = openai.prompts[0]!;
  assert.ok(p.kind === 'chat' && p.toolChoice === 'required' && p.parallelToolCalls === false && p.tools === undefined);
  const anthropic = messagesRequestFromAnthropic({ model: 'm', max_tokens: 4, messages, hearth_mcp: ['files'], tool_choice: { type: 'any' } });
  assert.deepEqual(anthropic.mcp, [{ label: 'files' }]);
  assert.ok(anthropic.prompts[0]!.kind === 'chat' && anthropic.prompts[0]!.toolChoice === 'required');
  const ollama = chatRequestFromOllama({ model: 'm', messages, hearth_mcp: ['files'], tool_choice: 'required' });
  assert.deepEqual(ollama.native.mcp, [{ label: 'files' }]);
  assert.ok(ollama.native.prompts[0]!.kind === 'chat' && ollama.native.prompts[0]!.toolChoice === 'required');
  // without hearth_mcp, a forced choice still needs tools, and Ollama still has none
  assert.throws(() => chatRequestFromOpenAI({ model: 'm', messages, tool_choice: 'required' }), param(/no tools/, 'tool_choice'));
  assert.throws(() => chatRequestFromOllama({ model: 'm', messages, tool_choice: 'required' }), param(/only "auto"/, 'tool_choice'));
});

test('hearth_mcp names servers only: a URL, a command, headers or env are refused, as are empty and repeated labels', () => {
  for (const [entry, field] of [
    [{ server_label: 'x', url: 'http://evil' }, 'url'], [{ server_label: 'x', server_url: 'http://evil' }, 'server_url'],
    [{ server_label: 'x', command: '/bin/sh' }, 'command'], [{ server_label: 'x', args: ['-c'] }, 'args'],
    [{ server_label: 'x', env: { A: 'b' } }, 'env'], [{ server_label: 'x', headers: { A: 'b' } }, 'headers'],
  ] as const) {
    assert.throws(() => chatRequestFromOpenAI({ model: 'm', messages, hearth_mcp: [entry] }), param(/declared in the server's config file only/, `hearth_mcp[0].${field}`));
  }
  assert.throws(() => chatRequestFromOpenAI({ model: 'm', messages, hearth_mcp: [] }), param(/at least one/, 'hearth_mcp'));
  assert.throws(() => chatRequestFromOpenAI({ model: 'm', messages, hearth_mcp: ['a', 'a'] }), param(/repeats/, 'hearth_mcp[1]'));
  assert.throws(() => chatRequestFromOpenAI({ model: 'm', messages, hearth_mcp: [{ server_label: 'a', colour: 1 }] }), /colour/);
});

test('the Responses API mcp tool: server_label and allowed_tools (both shapes) into the native request; server_url refused', () => {
  const req = responsesRequestFromOpenAI({
    model: 'm', input: 'hi', tool_choice: 'required', parallel_tool_calls: false,
    tools: [{ type: 'mcp', server_label: 'files', require_approval: 'never' }, { type: 'mcp', server_label: 'web', allowed_tools: { tool_names: ['search'] } }],
  }, newId);
  assert.deepEqual(req.mcp, [{ label: 'files' }, { label: 'web', allowedTools: ['search'] }]);
  assert.deepEqual(req.echo.tools[1], { type: 'mcp', server_label: 'web', allowed_tools: ['search'], require_approval: 'never' });
  const native = responsesNative(req, []);
  assert.deepEqual(native.mcp, req.mcp);
  assert.ok(native.prompts[0]!.kind === 'chat' && native.prompts[0]!.toolChoice === 'required');
  const refuse = (tool: Record<string, unknown>, re: RegExp) => assert.throws(() => responsesRequestFromOpenAI({ model: 'm', input: 'hi', tools: [{ type: 'mcp', server_label: 'x', ...tool }] }, newId), re);
  refuse({ server_url: 'https://mcp.example.com' }, /tools\[0\]\.server_url: MCP servers are declared in the server's config file/);
  refuse({ connector_id: 'connector_gmail' }, /connector_id/);
  refuse({ headers: { Authorization: 'Bearer x' } }, /headers/);
  refuse({ require_approval: 'always' }, /approval requests are not implemented/);
  assert.throws(() => responsesRequestFromOpenAI({ model: 'm', input: 'hi', tools: [{ type: 'mcp', server_label: 'x' }, { type: 'mcp', server_label: 'x' }] }, newId), /repeats the MCP server "x"/);
});
