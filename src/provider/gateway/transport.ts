// The gateway's one outgoing connection point: an HTTP(S) request to a configured upstream, with the provider's
// connect, first-byte and idle timeouts, cancelled by the caller's signal, over a keep-alive agent per provider. The
// URL is always the provider's base_url plus a fixed path; no request field reaches it, nor any header.

import http from 'node:http';
import https from 'node:https';
import type { ProviderTimeouts } from './config.ts';

/** Why an upstream request failed, for retries, the breaker and the error the client gets. */
export type FailureKind = 'connect' | 'first_byte_timeout' | 'idle_timeout' | 'status' | 'reset';

export class UpstreamFailure extends Error {
  readonly kind: FailureKind;
  /** The upstream's HTTP status (kind 'status'). */
  readonly status?: number;
  /** The upstream's Retry-After, in ms. */
  readonly retryAfterMs?: number;
  constructor(kind: FailureKind, message: string, o: { status?: number; retryAfterMs?: number } = {}) {
    super(message);
    this.name = 'UpstreamFailure';
    this.kind = kind;
    this.status = o.status;
    this.retryAfterMs = o.retryAfterMs;
  }
}

export interface UpstreamEndpoint {
  baseUrl: string;
  headers: Record<string, string>;
  timeouts: ProviderTimeouts;
}

export interface UpstreamStream {
  status: number;
  /** Body chunks as they arrive; each wait is bounded by the idle timeout. Returning early destroys the request. */
  chunks: AsyncIterable<Buffer>;
}

/** Retry-After as seconds or an HTTP date, in ms. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

const MAX_ERROR_BODY = 16 * 1024;

export class UpstreamClient {
  private readonly endpoint: UpstreamEndpoint;
  private readonly agent: http.Agent;
  private readonly secure: boolean;

  constructor(endpoint: UpstreamEndpoint) {
    this.endpoint = endpoint;
    this.secure = endpoint.baseUrl.startsWith('https:');
    const o = { keepAlive: true, maxSockets: 256, keepAliveMsecs: 1000, scheduling: 'lifo' as const };
    this.agent = this.secure ? new https.Agent(o) : new http.Agent(o);
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * Sends `method path` (with a JSON body) and resolves once the answer's first body byte arrived, with a 2xx
   * status; any other status rejects with its body's text, after the whole (bounded) body was read.
   */
  request(method: 'GET' | 'POST', path: string, body: unknown, signal?: AbortSignal): Promise<UpstreamStream> {
    const { timeouts } = this.endpoint;
    const url = new URL(this.endpoint.baseUrl + path);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<UpstreamStream>((resolve, reject) => {
      if (signal?.aborted) return reject(new UpstreamFailure('reset', 'cancelled'));
      const lib = this.secure ? https : http;
      const req = lib.request(url, {
        method, agent: this.agent,
        headers: {
          ...this.endpoint.headers, accept: 'application/json, text/event-stream, application/x-ndjson',
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        },
      });
      let settled = false;
      const fail = (e: UpstreamFailure) => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        req.destroy();
        reject(e);
      };
      const onAbort = () => fail(new UpstreamFailure('reset', 'cancelled'));
      signal?.addEventListener('abort', onAbort, { once: true });
      let connectTimer: NodeJS.Timeout | undefined;
      req.on('socket', (socket) => {
        // each event goes on as it arrives, not held for a fuller packet
        socket.setNoDelay(true);
        // a reused keep-alive socket is connected already
        if ((socket as { connecting?: boolean }).connecting) {
          connectTimer = setTimeout(() => fail(new UpstreamFailure('connect', `no connection within ${timeouts.connectMs} ms`)), timeouts.connectMs);
          socket.once(this.secure ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
        }
      });
      // socket inactivity from the request written to the first byte of the answer
      req.setTimeout(timeouts.firstByteMs, () => fail(new UpstreamFailure('first_byte_timeout', `no answer within ${timeouts.firstByteMs} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        const connecting = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET'].includes(e.code ?? '') && !req.reusedSocket;
        fail(new UpstreamFailure(connecting && e.code !== 'ECONNRESET' ? 'connect' : 'reset', `${e.code ?? 'error'}: ${e.message}`));
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          const parts: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            if (size < MAX_ERROR_BODY) parts.push(c);
            size += c.length;
          });
          res.on('end', () => {
            signal?.removeEventListener('abort', onAbort);
            fail(new UpstreamFailure('status', Buffer.concat(parts).toString('utf8').slice(0, MAX_ERROR_BODY), { status, retryAfterMs: retryAfterMs(res.headers['retry-after']) }));
          });
          res.on('error', () => fail(new UpstreamFailure('reset', `the answer (HTTP ${status}) was cut off`)));
          return;
        }
        const it = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
        it.next().then((first) => {
          if (settled) return;
          settled = true;
          clearTimeout(connectTimer);
          req.setTimeout(timeouts.idleMs, () => req.destroy(new UpstreamFailure('idle_timeout', `the stream stalled for ${timeouts.idleMs} ms`)));
          resolve({ status, chunks: chunks(first, it, req, res, signal, onAbort) });
        }, (e: Error) => fail(e instanceof UpstreamFailure ? e : new UpstreamFailure('reset', `the answer was cut off: ${e.message}`)));
      });
      req.end(payload);
    });
  }
}

async function* chunks(first: IteratorResult<Buffer>, it: AsyncIterator<Buffer>, req: http.ClientRequest, res: http.IncomingMessage, signal: AbortSignal | undefined,
  onAbort: () => void): AsyncGenerator<Buffer> {
  try {
    if (first.done) return;
    yield first.value;
    for (;;) {
      let r: IteratorResult<Buffer>;
      try {
        r = await it.next();
      } catch (e) {
        if (e instanceof UpstreamFailure) throw e;
        if (signal?.aborted) throw new UpstreamFailure('reset', 'cancelled');
        throw new UpstreamFailure('reset', `the upstream closed the stream: ${(e as Error).message}`);
      }
      if (r.done) break;
      yield r.value;
    }
    // Node ends a response that was cut off mid-body with 'aborted' rather than an error, on some versions
    if (!res.complete) throw new UpstreamFailure('reset', 'the upstream closed the stream before its end');
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!res.complete) req.destroy();
  }
}

/**
 * Splits chunks into lines (NDJSON, and SSE's lines), holding a partial line back until its end arrives. Synchronous:
 * every line of a chunk comes out of one push.
 */
export class LineSplitter {
  private readonly decoder = new TextDecoder();
  private rest = '';

  push(chunk: Buffer): string[] {
    this.rest += this.decoder.decode(chunk, { stream: true });
    const parts = this.rest.split('\n');
    this.rest = parts.pop()!;
    for (let i = 0; i < parts.length; i++) if (parts[i]!.endsWith('\r')) parts[i] = parts[i]!.slice(0, -1);
    return parts;
  }

  end(): string[] {
    const last = this.rest + this.decoder.decode();
    this.rest = '';
    return last ? [last] : [];
  }
}

/** Each SSE event's data (its data lines joined), in order; comments and event names are skipped. */
export class SseSplitter {
  private readonly lines = new LineSplitter();
  private data: string[] = [];

  push(chunk: Buffer): string[] {
    return this.read(this.lines.push(chunk));
  }

  end(): string[] {
    const out = this.read(this.lines.end());
    if (this.data.length) out.push(this.data.join('\n'));
    this.data = [];
    return out;
  }

  private read(lines: string[]): string[] {
    const out: string[] = [];
    for (const line of lines) {
      if (line === '') {
        if (this.data.length) out.push(this.data.join('\n'));
        this.data = [];
      } else if (line.startsWith('data:')) {
        this.data.push(line.slice(line[5] === ' ' ? 6 : 5));
      }
    }
    return out;
  }
}

/** The events of a body, a chunk's worth at a time: SSE data or NDJSON lines. */
export async function* framed(source: AsyncIterable<Buffer>, framing: 'sse' | 'ndjson'): AsyncGenerator<string[]> {
  const split = framing === 'sse' ? new SseSplitter() : new LineSplitter();
  for await (const chunk of source) {
    const out = split.push(chunk);
    if (out.length) yield out;
  }
  const out = split.end();
  if (out.length) yield out;
}
