// POST /mcp: Hearth's tools (mcp-server/tools.ts) over MCP's Streamable HTTP transport, stateless: each POST is one
// JSON-RPC message answered by a fresh server and transport (no Mcp-Session-Id, no server-sent stream: GET and
// DELETE are 405), so a request is authenticated, rate-limited and audited like any other. The security layer has
// already checked the Host, the Origin and the key (any valid key reaches the route; each tool checks its own
// scope and the key's model allow-list). A batch is refused (MCP 2025-06-18 has none), so a tool call is one request
// and one row of the usage audit, under the route "/mcp tools/call TOOL" with the tool's outcome as its status.
// Nothing here can change the server's configuration: the tools only read and generate.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { KnowledgeBase } from '../../knowledge/knowledge-base.ts';
import { authorize, checkModel } from '../middleware/auth.ts';
import { requireJsonContentType } from '../middleware/json-body.ts';
import { clientSignal, type RouteContext } from '../respond.ts';
import { createMcpServer, TOOL_SCOPES, type ToolCallRecord } from '../mcp-server/tools.ts';

/** Headers not passed on to the transport's Request (hop-by-hop, or the body's, which is already parsed). */
const DROPPED = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'expect']);

function webRequest(request: FastifyRequest): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(request.headers)) {
    if (v === undefined || DROPPED.has(k)) continue;
    headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  }
  return new Request(`http://127.0.0.1${request.url}`, { method: 'POST', headers });
}

interface JsonRpcCall {
  method?: unknown;
  params?: { name?: unknown };
}

function recordCall(request: FastifyRequest, ctx: RouteContext, rec: ToolCallRecord): void {
  const s = request.hearth;
  s.route = `/mcp tools/call ${rec.tool}`;
  if (rec.model !== undefined) s.model = rec.model;
  if (rec.promptTokens !== undefined) s.promptTokens = rec.promptTokens;
  if (rec.completionTokens !== undefined) s.completionTokens = rec.completionTokens;
  if (rec.provider !== undefined) [s.provider, s.upstreamModel] = [rec.provider, rec.upstreamModel];
  if (rec.tokensEstimated) s.tokensEstimated = true;
  if (rec.error) s.status = rec.error.status;
  if (rec.results) ctx.metrics?.observeGeneration('/mcp', rec.results);
}

const notAllowed = async (_request: FastifyRequest, reply: FastifyReply) => {
  reply.code(405).header('allow', 'POST');
  return { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this server is stateless (POST one JSON-RPC message per request; no sessions, no server-sent stream)' }, id: null };
};

export function mcpRoutes(app: FastifyInstance, ctx: RouteContext, knowledge: KnowledgeBase): void {
  app.post('/mcp', async (request, reply) => {
    requireJsonContentType(request);
    if (Array.isArray(request.body)) {
      // in JSON-RPC's shape, as the transport's own refusals
      reply.code(400);
      return { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request: send one JSON-RPC message per request; /mcp does not take batches' }, id: null };
    }
    const key = request.hearthAuth?.key;
    const canonical = (name: string) => ctx.models.canonical(name);
    const call = request.body as JsonRpcCall | null;
    const toolCall = call?.method === 'tools/call';
    // named before the call runs: a client that leaves mid-call is a 499 row of its tool (a name that is none of
    // the tools is "?": the audit keeps no text a client made up)
    const tool = call?.params?.name;
    if (toolCall) request.hearth.route = `/mcp tools/call ${typeof tool === 'string' && Object.hasOwn(TOOL_SCOPES, tool) ? tool : '?'}`;
    let recorded = false;
    const server = createMcpServer({ models: ctx.models, knowledge, version: ctx.version }, {
      // without keys (authentication off) every tool is open, as every route is
      authorize: (scope) => key && authorize(key, scope),
      checkModel: (model) => key && checkModel(key, model, canonical),
      record: (rec) => {
        recorded = true;
        recordCall(request, ctx, rec);
      },
      signal: clientSignal(reply),
    });
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    try {
      await server.connect(transport);
      const res = await transport.handleRequest(webRequest(request), { parsedBody: request.body });
      const text = res.body ? await res.text() : '';
      // refused before the tool ran: an unknown tool, or arguments its schema rejects
      if (toolCall && !recorded) request.hearth.status = 400;
      reply.code(res.status);
      res.headers.forEach((value, name) => void reply.header(name, value));
      return reply.send(text === '' ? undefined : text);
    } finally {
      await transport.close();
      await server.close();
    }
  });
  app.get('/mcp', notAllowed);
  app.delete('/mcp', notAllowed);
}
