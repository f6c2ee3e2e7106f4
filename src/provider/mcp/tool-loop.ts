// The server-side tool loop: a chat request that names MCP servers gets their tools beside its own; when the model
// calls one, Hearth calls the server, puts the call and its result in the conversation (the result as a tool
// message: data for the model, never instructions to Hearth), and asks the model again, until it answers without
// an MCP call or the step limit (then one last turn with tool_choice none, so it must answer). The client sees its
// own tools' calls and the final answer as usual, plus the MCP events for dialects that show them.

import { HearthError } from '../../util/errors.ts';
import { FieldError } from '../../api/validate.ts';
import type { ChoiceResult, NativeEvent, NativeRequest, PromptInput } from '../../api/native.ts';
import type { ChatMessage } from '../../chat/template.ts';
import type { ToolSpec } from '../../chat/tools.ts';
import type { Generation, Provider } from '../types.ts';
import type { McpHub } from './hub.ts';
import type { McpConnection } from './connection.ts';
import type { McpCallRecord, McpTool } from './types.ts';

/** One server a request uses, with the tools it allows (all when undefined). */
export interface McpUse {
  label: string;
  allowedTools?: string[];
}

/** The MCP tools of one request, by the name the model calls them by. */
export interface McpToolSet {
  readonly servers: { label: string; tools: McpTool[] }[];
  readonly byName: Map<string, { connection: McpConnection; tool: McpTool }>;
}

export type McpStreamEvent =
  | { type: 'mcp_list_tools'; server: string; tools: McpTool[] }
  | { type: 'mcp_call_start'; id: string; server: string; name: string; arguments: string }
  | { type: 'mcp_call_done'; record: McpCallRecord };

export type LoopEvent = NativeEvent | McpStreamEvent;

export interface LoopGeneration extends Generation {
  /** The native events interleaved with the MCP ones; read once (instead of `events`). */
  readonly loopEvents: AsyncIterable<LoopEvent>;
}

export interface LoopOptions {
  /** Rounds of MCP calls before the model is made to answer. */
  maxSteps: number;
  newId: (prefix: string) => string;
  signal?: AbortSignal;
  /** Each finished call (the audit). */
  onCall?: (record: McpCallRecord) => void;
}

export const DEFAULT_MCP_STEPS = 8;

/** Lists the tools of every server a request names (starting them), checks allowed_tools and name clashes. */
export async function mcpToolSet(hub: McpHub, uses: McpUse[], clientTools: readonly string[], param: string, signal?: AbortSignal): Promise<McpToolSet> {
  const byName = new Map<string, { connection: McpConnection; tool: McpTool }>();
  const servers: McpToolSet['servers'] = [];
  for (const use of uses) {
    const connection = hub.server(use.label, param);
    let tools = await connection.tools(signal);
    if (use.allowedTools) {
      for (const name of use.allowedTools) {
        if (!tools.some((t) => t.name === name)) {
          throw new FieldError(param, `MCP server "${use.label}" has no tool "${name}" (it has: ${tools.map((t) => t.name).join(', ') || 'none'})`);
        }
      }
      tools = tools.filter((t) => use.allowedTools!.includes(t.name));
    }
    for (const tool of tools) {
      const other = byName.get(tool.name);
      if (other || clientTools.includes(tool.name)) {
        throw new FieldError(param, `the tool name "${tool.name}" is both ${other ? `MCP server "${other.connection.config.name}"'s` : "the request's own"} and MCP server "${use.label}"'s; choose one with allowed_tools`);
      }
      byName.set(tool.name, { connection, tool });
    }
    servers.push({ label: use.label, tools });
  }
  return { servers, byName };
}

function chatPrompt(native: NativeRequest): PromptInput & { kind: 'chat' } {
  const p = native.prompts[0];
  if (native.prompts.length !== 1 || p?.kind !== 'chat') throw new FieldError('messages', 'MCP tools are for chat requests (one conversation)');
  if (native.n !== 1) throw new FieldError('n', 'MCP tools run with one choice (n = 1)');
  return p;
}

const specOf = (t: McpTool): ToolSpec => ({ name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.inputSchema });

/**
 * Starts the loop: the first turn is queued before this resolves (so its errors are the request's), the rest runs
 * as the events are read.
 */
export async function startToolLoop(provider: Provider, native: NativeRequest, set: McpToolSet, o: LoopOptions): Promise<LoopGeneration> {
  const prompt = chatPrompt(native);
  const mcpSpecs = [...set.byName.values()].map((v) => specOf(v.tool));
  let messages: ChatMessage[] = [...prompt.messages];
  const turn = (toolChoice: PromptInput & { kind: 'chat' } extends { toolChoice?: infer C } ? C : never): NativeRequest => ({
    ...native, prompts: [{ ...prompt, messages, tools: [...(prompt.tools ?? []), ...mcpSpecs], toolChoice }],
  });
  const first = await provider.generate(turn(prompt.toolChoice ?? 'auto'), o.signal);

  async function* run(): AsyncGenerator<LoopEvent> {
    for (const s of set.servers) yield { type: 'mcp_list_tools', server: s.label, tools: s.tools };
    let gen: Generation = first;
    const spent = { prompt: 0, completion: 0 };
    for (let step = 0; ; step++) {
      const mcpCall = new Map<number, boolean>();
      let result: ChoiceResult | undefined;
      for await (const ev of gen.events) {
        if (ev.type === 'tool_call_delta' || ev.type === 'tool_call') {
          if (ev.name !== undefined && !mcpCall.has(ev.call)) mcpCall.set(ev.call, set.byName.has(ev.name));
          if (mcpCall.get(ev.call)) continue;
        }
        if (ev.type === 'done') result = ev.result;
        else yield ev;
      }
      if (!result) throw new HearthError('internal', 'a turn of the MCP tool loop ended without a result');
      const calls = result.toolCalls ?? [];
      const mine = calls.filter((c) => set.byName.has(c.name));
      if (!mine.length || mine.length < calls.length) {
        const theirs = calls.filter((c) => !set.byName.has(c.name));
        yield {
          type: 'done', index: result.index,
          result: {
            ...result, ...(calls.length ? { toolCalls: theirs } : {}),
            reason: result.reason === 'tool_calls' && !theirs.length ? 'stop' : result.reason,
            usage: { ...result.usage, promptTokens: result.usage.promptTokens + spent.prompt, completionTokens: result.usage.completionTokens + spent.completion },
          },
        };
        return;
      }
      spent.prompt += result.usage.promptTokens;
      spent.completion += result.usage.completionTokens;
      const answers: ChatMessage[] = [];
      for (const c of mine) {
        const { connection } = set.byName.get(c.name)!;
        const id = o.newId('mcp_');
        const server = connection.config.name;
        yield { type: 'mcp_call_start', id, server, name: c.name, arguments: c.arguments };
        const record: McpCallRecord = { id, server, name: c.name, arguments: c.arguments, durationMs: 0 };
        let args: unknown;
        try {
          args = JSON.parse(c.arguments || '{}');
        } catch { /* below */ }
        if (args === null || typeof args !== 'object' || Array.isArray(args)) {
          record.error = `the arguments are not a JSON object: ${c.arguments.slice(0, 200)}`;
        } else {
          try {
            const r = await connection.call(c.name, args as Record<string, unknown>, o.signal);
            record.durationMs = r.durationMs;
            record.output = r.text;
            if (r.isError) record.error = r.text;
          } catch (e) {
            record.error = (e as Error).message;
            o.onCall?.(record);
            yield { type: 'mcp_call_done', record };
            throw e;
          }
        }
        o.onCall?.(record);
        yield { type: 'mcp_call_done', record };
        answers.push({ role: 'tool', toolCallId: c.id, name: c.name, content: record.error !== undefined && record.output === undefined ? `error: ${record.error}` : record.output ?? '' });
      }
      messages = [
        ...messages,
        { role: 'assistant', content: result.text, toolCalls: calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) },
        ...answers,
      ];
      gen = await provider.generate(turn(step + 1 >= o.maxSteps ? 'none' : 'auto'), o.signal);
    }
  }

  let used = false;
  const loopEvents = (): AsyncGenerator<LoopEvent> => {
    if (used) throw new HearthError('internal', 'the events of a generation are read once');
    used = true;
    return run();
  };
  async function* events(): AsyncGenerator<NativeEvent> {
    for await (const ev of loopEvents()) if (ev.type !== 'mcp_list_tools' && ev.type !== 'mcp_call_start' && ev.type !== 'mcp_call_done') yield ev;
  }
  return {
    promptTokens: first.promptTokens,
    ...(first.origin ? { origin: first.origin } : {}),
    get loopEvents() {
      return loopEvents();
    },
    get events() {
      return events();
    },
    async collect() {
      const out: ChoiceResult[] = [];
      for await (const ev of events()) if (ev.type === 'done') out[ev.index] = ev.result;
      return out;
    },
  };
}
