// OpenAI Responses routes: POST /v1/responses (one answer, or its semantic events streamed), and the stored
// responses: GET and DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ChoiceResult } from '../../api/native.ts';
import { Fields, FieldError, unsupported } from '../../api/validate.ts';
import { responsesNative, responsesRequestFromOpenAI, type ResponseItem, type ResponsesRequest } from '../../api/openai/responses-request.ts';
import { itemList, ResponseBuilder, type StreamEvent } from '../../api/openai/responses-output.ts';
import type { ResponseStore, StoredResponse } from '../../store/responses.ts';
import { requireJsonContentType } from '../middleware/json-body.ts';
import { clientSignal, generateAndReply, recordGeneration, requireCapability, startGeneration, useModel, type RouteContext } from '../respond.ts';
import { eventsOf, isMcpEvent } from '../mcp.ts';
import type { McpStreamEvent } from '../../provider/mcp/tool-loop.ts';
import { sseEvent } from '../sse.ts';
import { passagesPrompt, withFileSearch, type RetrievedPassage } from '../../api/openai/file-search.ts';
import type { KnowledgeBase } from '../../knowledge/knowledge-base.ts';
import { parseFilter } from '../../knowledge/filters.ts';

const frame = (e: StreamEvent): string => sseEvent(e.type, e);

/** The key a request authenticated with: a stored response belongs to it. */
const ownerOf = (request: FastifyRequest): string | undefined => request.hearthAuth?.key?.id;

function notFound(id: string, param: string): FieldError {
  return new FieldError(param, `no stored response with id ${JSON.stringify(id)} (it was never stored, was created with store: false, or was deleted)`, 'not_found');
}

/** The conversation a previous_response_id continues: every item of every response in its chain, oldest first. */
function history(store: ResponseStore, req: ResponsesRequest, keyId: string | undefined): ResponseItem[] {
  if (req.previousResponseId === undefined) return [];
  const chain = store.chain(req.previousResponseId, keyId);
  if (!chain) throw notFound(req.previousResponseId, 'previous_response_id');
  return chain.flatMap((r) => [...(r.input as ResponseItem[]), ...(r.response.output as ResponseItem[])]);
}

function stored(store: ResponseStore, request: FastifyRequest): StoredResponse {
  const { id } = request.params as { id: string };
  const r = store.get(id, ownerOf(request));
  if (!r) throw notFound(id, 'response_id');
  return r;
}

/** The text of the last user message of the input: what file_search searches for. */
function lastUserText(items: ResponseItem[]): string {
  for (let i = items.length - 1; i >= 0; i--) {
    const it = items[i] as { type?: string; role?: string; content?: unknown };
    if (it.type !== 'message' || it.role !== 'user') continue;
    if (typeof it.content === 'string') return it.content;
    if (Array.isArray(it.content)) return it.content.map((p: { text?: string }) => p.text ?? '').join(' ');
  }
  return '';
}

/** The passages file_search retrieves: the best of every named store by score, max_num_results (default 10) in all. */
async function retrieve(kb: KnowledgeBase | undefined, req: ResponsesRequest): Promise<{ query: string; passages: RetrievedPassage[] }> {
  const tool = req.fileSearch!;
  if (!kb) throw unsupported('tools', 'file_search needs the knowledge base, which this server has not got');
  if (req.stream) throw unsupported('stream', 'file_search answers are not streamed yet; send stream: false');
  const query = lastUserText(req.input);
  if (!query.trim()) throw new FieldError('input', 'file_search searches for the last user message, and the input has none with text');
  for (const id of tool.vector_store_ids) {
    if (!kb.store(id)) throw new FieldError('tools.vector_store_ids', `no vector store ${JSON.stringify(id)}`, 'not_found');
  }
  const filter = tool.filters === null || tool.filters === undefined ? undefined : parseFilter(tool.filters, 'tools.filters');
  const max = tool.max_num_results ?? 10;
  const hits = (await Promise.all(tool.vector_store_ids.map((id) => kb.search(id, {
    query, maxResults: max, filter, scoreThreshold: tool.ranking_options?.score_threshold,
  })))).flat().sort((a, b) => b.score - a.score).slice(0, max);
  return { query, passages: hits.map((h) => ({ fileId: h.fileId, filename: h.filename, score: h.score, text: h.text, attributes: h.attributes })) };
}

export function responsesRoutes(app: FastifyInstance, ctx: RouteContext, store: ResponseStore, kb?: KnowledgeBase): void {
  const seconds = () => Math.floor(ctx.now().getTime() / 1000);

  app.post('/v1/responses', async (request, reply) => {
    requireJsonContentType(request);
    const keyId = ownerOf(request);
    const req = responsesRequestFromOpenAI(request.body, ctx.newId, (id) => store.item(id, keyId));
    const conversations = ctx.conversations;
    let conversation;
    if (req.conversation !== undefined) {
      if (!conversations) throw unsupported('conversation', 'this server keeps no conversations');
      conversation = conversations.get(req.conversation, request, 'conversation');
    }
    const search = req.fileSearch ? await retrieve(kb, req) : undefined;
    const native = responsesNative(search ? { ...req, instructions: passagesPrompt(req.instructions, search.passages) } : req, history(store, req, keyId));
    const provider = await useModel(ctx, request, reply, req.model);
    requireCapability(provider, 'chat');
    // The conversation's stored history (summarised where it must be) goes before the input.
    if (conversation) await conversations!.prepare(conversation, native, provider, reply, clientSignal(reply));
    const builder = new ResponseBuilder({
      id: ctx.newId('resp_'), createdAt: seconds(), model: req.model, echo: req.echo, newId: ctx.newId, now: seconds,
    });
    const mcpEvents = (ev: McpStreamEvent) => ev.type === 'mcp_list_tools' ? builder.mcpListTools(ev.server, ev.tools)
      : ev.type === 'mcp_call_start' ? builder.mcpCallStart(ev.id, ev.server, ev.name, ev.arguments) : builder.mcpCallDone(ev.record);
    const answer = () => search ? withFileSearch(builder.response(), ctx.newId('fs_'), [search.query], search.passages, req.includeFileSearchResults) : builder.response();
    const keep = () => {
      const response = answer();
      if (req.conversation !== undefined) conversations!.append(req.conversation, [...req.input, ...response.output], ctx.newId);
      if (!req.store) return;
      store.put({
        id: response.id, createdAt: ctx.now().getTime(), model: req.model, input: req.input, response: { ...response },
        ...(keyId !== undefined ? { keyId } : {}), ...(req.previousResponseId !== undefined ? { previousId: req.previousResponseId } : {}),
      });
    };
    if (!req.stream) {
      const run = await startGeneration(ctx, request, provider, native, clientSignal(reply));
      const results: ChoiceResult[] = [];
      try {
        for await (const ev of eventsOf(run)) {
          if (isMcpEvent(ev)) mcpEvents(ev);
          else {
            if (ev.type === 'done') results.push(ev.result);
            builder.event(ev);
          }
        }
      } finally {
        recordGeneration(ctx, request, results);
      }
      keep();
      return reply.send(answer());
    }
    let finished = false;
    return generateAndReply(ctx, request, reply, native, provider, {
      json: () => builder.response(),
      stream: () => ({
        format: 'sse',
        start: () => builder.start().map(frame),
        mcp: (ev) => mcpEvents(ev).map(frame),
        event: (ev) => {
          const events = builder.event(ev).map(frame);
          if (ev.type === 'done') finished = true;
          return events;
        },
        end: () => {
          if (finished) keep();
          return [];
        },
        error: (info) => builder.fail(info).map(frame).join(''),
      }),
    });
  });

  app.get('/v1/responses/:id', async (request) => {
    const q = new Fields(request.query ?? {}, 'query');
    if (q.raw('stream') === 'true') throw unsupported('stream', 'replaying a stored response as a stream is not implemented; GET it whole');
    q.raw('include');
    q.raw('starting_after');
    q.raw('include_obfuscation');
    return stored(store, request).response;
  });

  app.delete('/v1/responses/:id', async (request) => {
    const { id } = request.params as { id: string };
    if (!store.delete(id, ownerOf(request))) throw notFound(id, 'response_id');
    return { id, object: 'response', deleted: true };
  });

  app.get('/v1/responses/:id/input_items', async (request) => {
    const r = stored(store, request);
    const q = new Fields(request.query ?? {}, 'query');
    const limitText = q.string('limit');
    const limit = limitText === undefined ? 20 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new FieldError('limit', `limit must be an integer from 1 to 100; got ${JSON.stringify(limitText)}`);
    const order = q.oneOf('order', ['asc', 'desc']) ?? 'desc';
    const after = q.string('after');
    q.raw('include');
    if (q.has('before')) throw unsupported('before', 'paging backwards is not implemented for input_items; page with after and order');
    return itemList(r.input as ResponseItem[], { order, limit, ...(after !== undefined ? { after } : {}) });
  });
}
