// OpenAI's Conversations API: POST /v1/conversations, GET/POST/DELETE /v1/conversations/{id}, its items (list,
// add, get, delete), and Hearth's: a key's conversations listed (GET /v1/conversations, ?q= to search them) and
// keyword search over a conversation's items and summaries.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Fields, FieldError, unsupported } from '../../api/validate.ts';
import { conversationObject, readAddItems, readCreateConversation, readUpdateConversation } from '../../api/openai/conversations.ts';
import { itemList } from '../../api/openai/responses-output.ts';
import type { ResponseItem } from '../../api/openai/responses-request.ts';
import type { ResponseStore } from '../../store/responses.ts';
import { requireJsonContentType } from '../middleware/json-body.ts';
import { ownerOf, type Conversations } from '../conversations.ts';
import type { RouteContext } from '../respond.ts';

function limitOf(q: Fields, max: number, fallback: number): number {
  const text = q.string('limit');
  const limit = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) throw new FieldError('limit', `limit must be an integer from 1 to ${max}; got ${JSON.stringify(text)}`);
  return limit;
}

export function conversationsRoutes(app: FastifyInstance, ctx: RouteContext, conversations: Conversations, responses: ResponseStore): void {
  const store = conversations.store;
  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;
  const mine = (request: FastifyRequest) => conversations.get(idOf(request), request, 'conversation_id');
  const lookup = (request: FastifyRequest) => (id: string) => responses.item(id, ownerOf(request));

  app.post('/v1/conversations', async (request) => {
    if (request.body !== undefined) requireJsonContentType(request);
    const { items, metadata } = readCreateConversation(request.body, ctx.newId, lookup(request));
    const keyId = ownerOf(request);
    const c = { id: ctx.newId('conv_'), createdAt: ctx.now().getTime(), metadata, ...(keyId !== undefined ? { keyId } : {}) };
    store.create(c);
    conversations.append(c.id, items, ctx.newId);
    return conversationObject(c);
  });

  // Hearth's: the key's conversations, newest first; q: those whose items, summaries or metadata match (the web UI's list).
  app.get('/v1/conversations', async (request) => {
    const f = new Fields(request.query ?? {}, 'query');
    const q = f.string('q');
    const limit = limitOf(f, 100, 20);
    f.rejectUnknown();
    const data = store.list(ownerOf(request), { q, limit }).map(conversationObject);
    return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: data.length === limit };
  });

  app.get('/v1/conversations/:id', async (request) => conversationObject(mine(request)));

  app.post('/v1/conversations/:id', async (request) => {
    requireJsonContentType(request);
    const c = mine(request);
    const metadata = readUpdateConversation(request.body);
    store.setMetadata(c.id, metadata, ownerOf(request));
    return conversationObject({ ...c, metadata });
  });

  app.delete('/v1/conversations/:id', async (request) => {
    const c = mine(request);
    store.delete(c.id, ownerOf(request));
    return { id: c.id, object: 'conversation.deleted', deleted: true };
  });

  app.get('/v1/conversations/:id/items', async (request) => {
    const c = mine(request);
    const q = new Fields(request.query ?? {}, 'query');
    const limit = limitOf(q, 100, 20);
    const order = q.oneOf('order', ['asc', 'desc']) ?? 'desc';
    const after = q.string('after');
    q.raw('include');
    q.rejectUnknown();
    const items = store.items(c.id).map((i) => i.item as unknown as ResponseItem);
    return itemList(items, { order, limit, ...(after !== undefined ? { after } : {}) });
  });

  app.post('/v1/conversations/:id/items', async (request) => {
    requireJsonContentType(request);
    const c = mine(request);
    const q = new Fields(request.query ?? {}, 'query');
    q.raw('include');
    q.rejectUnknown();
    const added = conversations.append(c.id, readAddItems(request.body, ctx.newId, lookup(request)), ctx.newId);
    return { object: 'list', data: added, first_id: added[0]?.id ?? null, last_id: added.at(-1)?.id ?? null, has_more: false };
  });

  const itemOf = (request: FastifyRequest) => {
    const c = mine(request);
    const itemId = (request.params as { item_id: string }).item_id;
    const item = store.item(c.id, itemId);
    if (!item) throw new FieldError('item_id', `conversation ${c.id} has no item ${JSON.stringify(itemId)}`, 'not_found');
    return { c, item };
  };

  app.get('/v1/conversations/:id/items/:item_id', async (request) => itemOf(request).item.item);

  app.delete('/v1/conversations/:id/items/:item_id', async (request) => {
    const { c, item } = itemOf(request);
    store.deleteItem(c.id, item.id);
    return conversationObject(c);
  });

  // Hearth's: the conversation's items and summaries ranked by BM25 for the words of q.
  app.get('/v1/conversations/:id/search', async (request) => {
    const c = mine(request);
    const f = new Fields(request.query ?? {}, 'query');
    const q = f.required('q', (x, k) => x.string(k, { nonEmpty: true }));
    const limit = limitOf(f, 100, 10);
    if (f.has('mode')) throw unsupported('mode', 'only keyword search (FTS5, BM25) is implemented');
    f.rejectUnknown();
    const hits = store.search(c.id, q, limit);
    return {
      object: 'list',
      data: hits.map((h, i) => ({
        object: 'conversation.search_result', rank: i + 1, score: h.score,
        ...(h.item
          ? { type: 'item', item: h.item.item }
          : { type: 'summary', summary: { id: `sum_${h.summary!.id}`, text: h.summary!.text, turns: h.summary!.turns, model: h.summary!.model } }),
      })),
    };
  });
}
