// Request bodies: JSON only, strictly UTF-8, within a size limit. Ollama's own clients (and curl -d) often send
// no JSON content type, so any type is parsed as JSON; endpoints of the stricter dialects reject it afterwards
// (requireJsonContentType).

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HearthError } from '../../util/errors.ts';

export interface JsonBodyOptions {
  /** Largest body accepted, in bytes. */
  bodyLimit: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parse(body: Buffer): unknown {
  if (body.length === 0) throw new HearthError('invalid_argument', 'the request body is empty; send a JSON object');
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new HearthError('invalid_argument', 'the request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HearthError('invalid_argument', `the request body is not valid JSON: ${(e as Error).message}`);
  }
}

function isJsonType(type: string | undefined): boolean {
  const t = (type ?? '').split(';')[0].trim().toLowerCase();
  return t === 'application/json' || /^application\/[\w.+-]*\+json$/.test(t);
}

/** Registers the body parsers; checks its options when the app is built, not at the first request. */
export function jsonBody(opts: JsonBodyOptions): (app: FastifyInstance) => void {
  if (!Number.isInteger(opts.bodyLimit) || opts.bodyLimit < 1024) {
    throw new HearthError('invalid_argument', `bodyLimit must be an integer of at least 1024 bytes; got ${opts.bodyLimit}`);
  }
  return (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: opts.bodyLimit }, (_req, body, done) => {
      try {
        done(null, parse(body as Buffer));
      } catch (e) {
        done(e as Error, undefined);
      }
    });
  };
}

/** For OpenAI and Anthropic endpoints: the body must be declared as JSON. */
export function requireJsonContentType(request: FastifyRequest): void {
  const type = request.headers['content-type'];
  if (!isJsonType(type)) {
    throw new HearthError('unsupported_media_type',
      `Content-Type must be application/json; got ${type ? JSON.stringify(type) : 'none'}`);
  }
}
