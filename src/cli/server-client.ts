// The CLI as a client of a running hearth server (hearth ps, stop, analyze): the server is --host, HEARTH_HOST or
// http://127.0.0.1:8434, and HEARTH_API_KEY is sent as the bearer key where the server requires keys.

import { DEFAULT_PORT } from '../server/app.ts';
import { HearthError } from '../util/errors.ts';

export function serverUrl(flag: string | undefined): string {
  const raw = flag ?? process.env.HEARTH_HOST ?? `http://127.0.0.1:${DEFAULT_PORT}`;
  return (/^https?:\/\//.test(raw) ? raw : `http://${raw}`).replace(/\/+$/, '');
}

/** A JSON request to the server; a refusal is a HearthError with the server's message. */
export async function call(base: string, path: string, init: RequestInit = {}): Promise<unknown> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (process.env.HEARTH_API_KEY) headers.authorization = `Bearer ${process.env.HEARTH_API_KEY}`;
  let res: Response;
  try {
    res = await fetch(base + path, { ...init, headers });
  } catch (e) {
    throw new HearthError('unavailable', `no hearth server answers at ${base} (${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}); start one with hearth serve, or name it with --host or HEARTH_HOST`);
  }
  const body = await res.json().catch(() => ({})) as { error?: string | { message?: string } };
  if (!res.ok) {
    const msg = typeof body.error === 'string' ? body.error : body.error?.message ?? `HTTP ${res.status}`;
    const code = res.status === 404 ? 'not_found' : res.status === 401 ? 'unauthorized' : res.status === 403 ? 'forbidden' : res.status === 400 ? 'invalid_argument' : 'io_error';
    throw new HearthError(code, `${base}${path}: ${msg}`);
  }
  return body;
}
