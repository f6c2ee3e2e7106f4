// Fields a request sent that no reader asked for. By default they are ignored, as Ollama and llama-server do, and
// the response says which in its hearth-ignored-fields header (comma-separated dotted paths, such as
// "verbosity, options.foo"); the request's log line lists them too. Strict (hearth serve --strict), each is a
// 400 naming it, as before. Fields standing for a feature this server lacks are 400s in both modes (the readers'
// unsupported()).

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FieldPolicy, readUnder } from '../../api/validate.ts';

export const IGNORED_FIELDS_HEADER = 'hearth-ignored-fields';

declare module 'fastify' {
  interface FastifyRequest {
    fieldPolicy: FieldPolicy | null;
  }
}

/** A JSON key as a header token: printable ASCII without commas as it is, anything else percent-encoded. */
function headerSafe(path: string): string {
  const short = path.length > 100 ? `${path.slice(0, 100)}…` : path;
  return /^[\x21-\x2b\x2d-\x7e]*$/.test(short) ? short : encodeURIComponent(short);
}

/** The ignored fields of a request, as written to its header and log line; empty when none (or strict). */
export function ignoredFields(request: FastifyRequest): string[] {
  return request.fieldPolicy?.ignored.map(headerSafe) ?? [];
}

export function ignoredFieldsPlugin(opts: { strict: boolean }): (app: FastifyInstance) => void {
  return (app) => {
    app.decorateRequest('fieldPolicy', null);
    // After the body parser, before the handler: every Fields made of this body (or query) reads under the request's policy.
    app.addHook('preValidation', async (request) => {
      request.fieldPolicy = new FieldPolicy(opts.strict);
      readUnder(request.body, request.fieldPolicy);
      readUnder(request.query, request.fieldPolicy);
    });
    app.addHook('onSend', async (request, reply) => {
      const ignored = ignoredFields(request);
      if (ignored.length) reply.header(IGNORED_FIELDS_HEADER, ignored.join(', '));
    });
  };
}
