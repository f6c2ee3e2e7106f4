// The usage audit over HTTP, read-only, for a key with the `admin` scope (every /admin/ route needs it):
// GET /admin/usage?since=24h&by=key|model|route&bucket=1h → totals per group and requests, errors, 429s and
// tokens per time slot, which the web UI draws as charts. The rows are those `hearth usage` reads.

import type { FastifyInstance } from 'fastify';
import { Fields, FieldError } from '../../api/validate.ts';
import { parseDuration, parseSince } from '../../store/duration.ts';
import type { UsageGroup } from '../../store/usage.ts';
import type { KeyRepository, UsageRepository } from '../../store/repository.ts';

/** At most this many slots per answer: a finer bucket over a long span is refused. */
const MAX_SLOTS = 2000;

export function adminUsageRoutes(app: FastifyInstance, usage: UsageRepository, keys: KeyRepository | undefined, now: () => number): void {
  app.get('/admin/usage', async (request) => {
    const q = new Fields(request.query ?? {}, 'query');
    const sinceText = q.string('since') ?? '24h';
    const by = (q.oneOf('by', ['key', 'model', 'route']) ?? 'key') as UsageGroup;
    const bucketText = q.string('bucket');
    q.rejectUnknown();
    const t = now();
    let since: number;
    try {
      since = parseSince(sinceText, t, 'since');
    } catch (e) {
      throw new FieldError('since', (e as Error).message);
    }
    let bucketMs: number;
    try {
      // default: about 48 slots over the span, in whole minutes
      bucketMs = bucketText === undefined ? Math.max(60_000, Math.ceil((t - since) / 48 / 60_000) * 60_000) : parseDuration(bucketText, 'bucket');
    } catch (e) {
      throw new FieldError('bucket', (e as Error).message);
    }
    if (bucketMs <= 0) throw new FieldError('bucket', 'bucket must be a positive duration');
    if ((t - since) / bucketMs > MAX_SLOTS) throw new FieldError('bucket', `bucket ${bucketText} makes more than ${MAX_SLOTS} slots since ${sinceText}`);
    const names = new Map(((await keys?.list()) ?? []).map((k) => [k.id, k.name]));
    const label = (g: string | null) => (by === 'key' ? (g === null ? 'no key' : names.get(g) ?? g) : g ?? '(none)');
    return {
      object: 'usage', by, since: new Date(since).toISOString(), until: new Date(t).toISOString(), bucket_ms: bucketMs,
      totals: (await usage.summary({ since, by })).map((r) => ({
        group: r.group, label: label(r.group), requests: r.requests, errors: r.errors, rate_limited: r.rateLimited,
        prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, mean_ms: Math.round(r.meanMs * 100) / 100,
      })),
      series: (await usage.timeline({ since, bucketMs, by })).map((p) => ({
        t: p.t, group: p.group, label: label(p.group), requests: p.requests, errors: p.errors, rate_limited: p.rateLimited,
        prompt_tokens: p.promptTokens, completion_tokens: p.completionTokens,
      })),
    };
  });
}
