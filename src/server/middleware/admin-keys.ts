// Key management over HTTP, for a key with the `admin` scope: POST /admin/keys (the secret is in this one
// response), GET /admin/keys (never a secret), DELETE /admin/keys/:id (revoke).

import type { FastifyInstance } from 'fastify';
import { Fields, FieldError } from '../../api/validate.ts';
import { keyStatus, type ApiKey } from '../../store/keys.ts';
import { parseDuration } from '../../store/duration.ts';
import type { KeyRepository, UsageRepository } from '../../store/repository.ts';

/** A key as the admin API shows it. */
export function keyJson(k: ApiKey, now: number, lastUsed?: number): Record<string, unknown> {
  const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
  return {
    id: k.id, object: 'api_key', name: k.name, prefix: k.prefix, status: keyStatus(k, now), scopes: k.scopes, models: k.models ?? null,
    rpm: k.rpm ?? null, tpm: k.tpm ?? null, concurrency: k.concurrency ?? null,
    created_at: iso(k.createdAt), expires_at: iso(k.expiresAt), revoked_at: iso(k.revokedAt), last_used_at: iso(lastUsed),
  };
}

export function adminKeyRoutes(
  app: FastifyInstance, keys: KeyRepository, usage: UsageRepository | undefined, now: () => number, onRevoked?: (id: string) => void,
): void {
  app.post('/admin/keys', async (request, reply) => {
    const f = new Fields(request.body);
    const name = f.required('name', (x, k) => x.string(k, { nonEmpty: true }));
    const scopes = f.stringList('scopes');
    const models = f.stringList('models');
    const rpm = f.number('rpm', { integer: true, min: 1 });
    const tpm = f.number('tpm', { integer: true, min: 1 });
    const concurrency = f.number('concurrency', { integer: true, min: 1 });
    const expiresIn = f.string('expires_in');
    const expiresAtText = f.string('expires_at');
    f.rejectUnknown();
    let expiresAt: number | undefined;
    if (expiresIn !== undefined && expiresAtText !== undefined) throw new FieldError('expires_at', 'give expires_in or expires_at, not both');
    if (expiresIn !== undefined) {
      try {
        expiresAt = now() + parseDuration(expiresIn, 'expires_in');
      } catch (e) {
        throw new FieldError('expires_in', (e as Error).message);
      }
    }
    if (expiresAtText !== undefined) {
      expiresAt = Date.parse(expiresAtText);
      if (!Number.isFinite(expiresAt)) throw new FieldError('expires_at', `expires_at must be an ISO 8601 date; got ${JSON.stringify(expiresAtText)}`);
    }
    const { key, secret } = await keys.create({ name, scopes, models, rpm, tpm, concurrency, expiresAt });
    request.log.info({ key_id: key.id, by: request.hearthAuth?.key?.id }, 'api key created');
    return reply.code(201).send({ ...keyJson(key, now()), key: secret });
  });

  app.get('/admin/keys', async () => {
    const used = await usage?.lastUsed();
    return { object: 'list', data: (await keys.list()).map((k) => keyJson(k, now(), used?.get(k.id))) };
  });

  app.delete('/admin/keys/:id', async (request) => {
    const { id } = request.params as { id: string };
    const key = await keys.revoke(id);
    onRevoked?.(key.id);
    request.log.info({ key_id: key.id, by: request.hearthAuth?.key?.id }, 'api key revoked');
    return keyJson(key, now());
  });
}
