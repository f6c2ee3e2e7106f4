// A gateway on loopback (an in-process hearth app whose only models are the ones its config routes upstream), and
// one small client per dialect through the official SDKs, giving the text and calls of a greedy answer, streamed or
// not, so that answers through the gateway compare with answers straight from the upstream.

import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import type { FastifyInstance } from 'fastify';
import { createApp, type AppDeps } from '../../src/server/app.ts';
import { ModelManager } from '../../src/provider/model-manager.ts';
import { parseGatewayConfig } from '../../src/provider/gateway/config.ts';
import { Gateway } from '../../src/provider/gateway/gateway.ts';
import type { ModelSource } from '../../src/library/types.ts';

export interface GatewayServer {
  app: FastifyInstance;
  gateway: Gateway;
  models: ModelManager;
  base: string;
  close(): Promise<void>;
}

const EMPTY: ModelSource = { list: () => [], get: () => undefined };

export async function startGateway(yaml: string, o: { env?: NodeJS.ProcessEnv; app?: Partial<AppDeps>; local?: ModelSource } = {}): Promise<GatewayServer> {
  const config = parseGatewayConfig(yaml, 'config.yaml', { env: o.env ?? {}, secret: () => undefined });
  const gateway = new Gateway(config);
  const models = new ModelManager({
    source: gateway.source(o.local ?? EMPTY),
    load: async (m) => gateway.provider(m),
    keepAliveMs: -1,
  });
  const app = createApp({ models, gateway, ...o.app });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, gateway, models, base: `http://127.0.0.1:${port}`, close: () => app.close() };
}

export type ClientDialect = 'openai' | 'ollama' | 'anthropic';
export const CLIENT_DIALECTS: ClientDialect[] = ['openai', 'ollama', 'anthropic'];

export interface Call {
  name: string;
  args: unknown;
}

export interface Answer {
  text: string;
  calls: Call[];
}

export interface Tool {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface Ask {
  model: string;
  messages: { role: 'user' | 'assistant' | 'tool'; content: string; toolCallId?: string; calls?: { id: string; name: string; args: Record<string, unknown> }[] }[];
  maxTokens: number;
  stream: boolean;
  tools?: Tool[];
  /** Force a call (OpenAI "required", Anthropic "any"); Ollama has no tool choice. */
  force?: boolean;
}

/** One greedy request in `dialect` to the server at `base`. */
export async function ask(dialect: ClientDialect, base: string, q: Ask, apiKey = 'unused'): Promise<Answer> {
  if (dialect === 'openai') {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
    const messages = q.messages.map((m): OpenAI.Chat.Completions.ChatCompletionMessageParam => {
      if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId!, content: m.content };
      if (m.role === 'assistant') {
        return { role: 'assistant', content: m.content || null, ...(m.calls ? { tool_calls: m.calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: JSON.stringify(c.args) } })) } : {}) };
      }
      return { role: 'user', content: m.content };
    });
    const body = {
      model: q.model, messages, max_tokens: q.maxTokens, temperature: 0,
      ...(q.tools ? { tools: q.tools.map((t) => ({ type: 'function' as const, function: t })), ...(q.force ? { tool_choice: 'required' as const, parallel_tool_calls: false } : {}) } : {}),
    };
    if (!q.stream) {
      const r = await client.chat.completions.create(body);
      const msg = r.choices[0]!.message;
      return { text: msg.content ?? '', calls: (msg.tool_calls ?? []).map((c) => c.type === 'function' ? { name: c.function.name, args: JSON.parse(c.function.arguments) } : { name: '', args: null }) };
    }
    const done = await client.chat.completions.stream(body).finalChatCompletion();
    const msg = done.choices[0]!.message;
    return { text: msg.content ?? '', calls: (msg.tool_calls ?? []).map((c) => c.type === 'function' ? { name: c.function.name, args: JSON.parse(c.function.arguments) } : { name: '', args: null }) };
  }
  if (dialect === 'anthropic') {
    const client = new Anthropic({ baseURL: base, apiKey, maxRetries: 0 });
    const messages = q.messages.map((m): Anthropic.MessageParam => {
      if (m.role === 'tool') return { role: 'user', content: [{ type: 'tool_result', tool_use_id: m.toolCallId!, content: m.content }] };
      if (m.role === 'assistant') {
        return { role: 'assistant', content: [...(m.content ? [{ type: 'text' as const, text: m.content }] : []), ...(m.calls ?? []).map((c) => ({ type: 'tool_use' as const, id: c.id, name: c.name, input: c.args }))] };
      }
      return { role: 'user', content: m.content };
    });
    const body = {
      model: q.model, messages, max_tokens: q.maxTokens, temperature: 0,
      ...(q.tools ? { tools: q.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters as Anthropic.Tool.InputSchema })), ...(q.force ? { tool_choice: { type: 'any' as const, disable_parallel_tool_use: true } } : {}) } : {}),
    };
    const r = q.stream ? await client.messages.stream(body).finalMessage() : await client.messages.create(body);
    return {
      text: r.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join(''),
      calls: r.content.flatMap((b) => (b.type === 'tool_use' ? [{ name: b.name, args: b.input }] : [])),
    };
  }
  const client = new Ollama({ host: base, ...(apiKey !== 'unused' ? { headers: { authorization: `Bearer ${apiKey}` } } : {}) });
  const messages = q.messages.map((m) => ({
    role: m.role, content: m.content,
    ...(m.calls ? { tool_calls: m.calls.map((c) => ({ function: { name: c.name, arguments: c.args } })) } : {}),
  }));
  const body = { model: q.model, messages, options: { temperature: 0, num_predict: q.maxTokens }, ...(q.tools ? { tools: q.tools.map((t) => ({ type: 'function', function: t })) } : {}) };
  if (!q.stream) {
    const r = await client.chat({ ...body, stream: false });
    return { text: r.message.content, calls: (r.message.tool_calls ?? []).map((c) => ({ name: c.function.name, args: c.function.arguments })) };
  }
  let text = '';
  const calls: Call[] = [];
  for await (const part of await client.chat({ ...body, stream: true })) {
    text += part.message.content;
    for (const c of part.message.tool_calls ?? []) calls.push({ name: c.function.name, args: c.function.arguments });
  }
  return { text, calls };
}
