// Anthropic GET /v1/models and /v1/models/{id}: the models list in Anthropic's shape, one page of it at a time
// (limit, after_id, before_id), for clients that send anthropic-version (the Anthropic SDKs' models.list()).

import { FieldError, checkNumber } from '../validate.ts';

export interface AnthropicModel {
  type: 'model';
  id: string;
  display_name: string;
  /** RFC 3339: when the model was added here. */
  created_at: string;
}

export interface AnthropicModelPage {
  data: AnthropicModel[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

export function anthropicModel(m: { name: string; addedAt: Date }): AnthropicModel {
  return { type: 'model', id: m.name, display_name: m.name, created_at: m.addedAt.toISOString() };
}

/** One page: `limit` (1 to 1000, default 20) models after `after_id` or before `before_id` (query strings). */
export function anthropicModelPage(all: readonly AnthropicModel[], query: Record<string, string | undefined>): AnthropicModelPage {
  const limit = query.limit === undefined ? 20 : checkNumber(Number(query.limit), 'limit', { integer: true, min: 1, max: 1000 });
  const { after_id: after, before_id: before } = query;
  if (after !== undefined && before !== undefined) throw new FieldError('before_id', 'send after_id or before_id, not both');
  const at = (id: string, key: string) => {
    const i = all.findIndex((m) => m.id === id);
    if (i < 0) throw new FieldError(key, `${key} ${JSON.stringify(id)} is not a model here`, 'not_found');
    return i;
  };
  let data: AnthropicModel[];
  let hasMore: boolean;
  if (before !== undefined) {
    const end = at(before, 'before_id');
    data = all.slice(Math.max(0, end - limit), end);
    hasMore = end - limit > 0;
  } else {
    const start = after === undefined ? 0 : at(after, 'after_id') + 1;
    data = all.slice(start, start + limit);
    hasMore = start + limit < all.length;
  }
  return { data, has_more: hasMore, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}
