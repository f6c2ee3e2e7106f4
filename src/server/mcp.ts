// MCP tools in a request: the servers it names (`hearth_mcp`, or the Responses API's `mcp` tools) checked against
// the key's scopes (`mcp:LABEL` or `mcp:*`; a server the key may not use is a 403), their tools listed, and the
// tool loop started over the request's provider. Each call goes into the request's stats for the usage audit.

import type { FastifyRequest } from 'fastify';
import { HearthError } from '../util/errors.ts';
import type { NativeEvent, NativeRequest } from '../api/native.ts';
import type { Provider } from '../provider/types.ts';
import type { McpHub } from '../provider/mcp/hub.ts';
import { DEFAULT_MCP_STEPS, mcpToolSet, startToolLoop, type LoopEvent, type LoopGeneration, type McpStreamEvent } from '../provider/mcp/tool-loop.ts';
import type { Generation } from '../provider/types.ts';

/** Whether the request's key may use MCP server `label` (a server without keys lets every request). */
export function mayUseMcp(request: FastifyRequest, label: string): boolean {
  const key = request.hearthAuth?.key;
  if (!key) return true;
  const scopes = key.scopes as readonly string[];
  return scopes.includes('mcp:*') || scopes.includes(`mcp:${label}`);
}

/**
 * `forbidden` unless the request's key may use MCP server `label`, whether or not it is configured: a key learns
 * nothing of the servers it may not use.
 */
export function authorizeMcp(request: FastifyRequest, label: string): void {
  if (mayUseMcp(request, label)) return;
  throw new HearthError('forbidden', `this API key may not use the MCP server "${label}" (it needs the scope mcp:${label} or mcp:*)`);
}

/** Where the request's MCP servers come from: the request field that named them, for errors. */
const PARAM = (request: FastifyRequest) => (request.routeOptions.url === '/v1/responses' ? 'tools' : 'hearth_mcp');

/** Runs `native` with its MCP servers' tools through the tool loop. */
export async function mcpGeneration(hub: McpHub | undefined, request: FastifyRequest, provider: Provider, native: NativeRequest,
  newId: (prefix: string) => string, signal: AbortSignal): Promise<LoopGeneration> {
  const uses = native.mcp!;
  const param = PARAM(request);
  if (!hub) throw new HearthError('invalid_argument', `no MCP servers are configured on this server (${param}); they are declared under mcp_servers: in the config file`);
  for (const u of uses) authorizeMcp(request, u.label);
  for (const u of uses) hub.server(u.label, param, (l) => mayUseMcp(request, l));
  const prompt = native.prompts[0];
  const clientTools = prompt?.kind === 'chat' ? (prompt.tools ?? []).map((t) => t.name) : [];
  const set = await mcpToolSet(hub, uses, clientTools, param, signal);
  const calls = (request.hearth.mcpCalls ??= []);
  return startToolLoop(provider, native, set, { maxSteps: DEFAULT_MCP_STEPS, newId, signal, onCall: (r) => calls.push(r) });
}

export const isMcpEvent = (ev: LoopEvent): ev is McpStreamEvent =>
  ev.type === 'mcp_list_tools' || ev.type === 'mcp_call_start' || ev.type === 'mcp_call_done';

/** The events of a generation, the MCP ones among them where it ran the tool loop. */
export function eventsOf(run: Generation | LoopGeneration): AsyncIterable<NativeEvent | McpStreamEvent> {
  return 'loopEvents' in run ? run.loopEvents : run.events;
}
