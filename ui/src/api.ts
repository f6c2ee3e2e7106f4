// Calls to the server from the page: same origin, the session cookie sent by the browser (never a key in
// script), the CSRF token on every state-changing request, errors as one ApiError with the server's message.

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

let csrf: string | null = null;

export function setCsrf(token: string | null): void {
  csrf = token;
}

export interface Session {
  auth: boolean;
  signed_in: boolean;
  key?: { id: string; name: string; prefix: string; scopes: string[] } | null;
  scopes?: string[];
  csrf?: string | null;
}

function headers(method: string, body: unknown): Record<string, string> {
  const h: Record<string, string> = {};
  if (body !== undefined) h['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) h['x-hearth-csrf'] = csrf;
  return h;
}

async function failure(r: Response): Promise<ApiError> {
  let message = `${r.status} ${r.statusText}`;
  try {
    const b = await r.json() as { error?: string | { message?: string }; message?: string };
    const e = b.error;
    message = typeof e === 'string' ? e : e?.message ?? b.message ?? message;
  } catch { /* not JSON */ }
  return new ApiError(r.status, message);
}

export async function request(path: string, o: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<Response> {
  const method = o.method ?? (o.body === undefined ? 'GET' : 'POST');
  const r = await fetch(path, {
    method, headers: headers(method, o.body), credentials: 'same-origin', signal: o.signal,
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
  });
  if (!r.ok) throw await failure(r);
  return r;
}

export async function api<T = any>(path: string, o: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const r = await request(path, o);
  const type = r.headers.get('content-type') ?? '';
  return (type.includes('json') ? await r.json() : await r.text()) as T;
}

async function* lines(r: Response): AsyncGenerator<string> {
  const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      yield buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
    }
  }
  if (buf) yield buf;
}

/** The JSON of each `data:` line of a server-sent event stream, until [DONE]. */
export async function* sse<T = any>(path: string, body: unknown, signal?: AbortSignal): AsyncGenerator<T> {
  const r = await request(path, { body, signal });
  for await (const line of lines(r)) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (data === '[DONE]') return;
    yield JSON.parse(data) as T;
  }
}

/** Each line of a newline-delimited JSON stream. */
export async function* ndjson<T = any>(path: string, body: unknown, signal?: AbortSignal): AsyncGenerator<T> {
  const r = await request(path, { body, signal });
  for await (const line of lines(r)) if (line.trim()) yield JSON.parse(line) as T;
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${n >= 100 || i === 0 ? n.toFixed(0) : n.toFixed(1)} ${units[i]}`;
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  return new Date(t).toLocaleString();
}

const early = new Map<string, Promise<unknown>>();

/** Starts a GET now, for a page about to ask for it (the first page load's model list). */
export function prefetch(path: string): void {
  if (!early.has(path)) {
    const p = api(path);
    p.catch(() => undefined);
    early.set(path, p);
  }
}

/** A GET, answered by a prefetch of the same path when there is one (used once). */
export function apiOnce<T = any>(path: string): Promise<T> {
  const p = early.get(path);
  early.delete(path);
  return (p as Promise<T> | undefined) ?? api<T>(path);
}
