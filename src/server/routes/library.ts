// The models library over HTTP: Ollama's /api/tags, /api/show, /api/delete, /api/copy, /api/create (a preset of a
// library model) and /api/push (refused: hearth does not publish models), and OpenAI's /v1/models[/{id}]. Every
// answer comes from the catalog and the GGUF headers; no weights are read. models:read / models:write guard them
// (middleware/auth.ts).

import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { openGGUF } from '../../gguf/reader.ts';
import { GGUFValueType } from '../../gguf/index.ts';
import { parameterSize } from '../../api/ollama/models.ts';
import { FieldError, Fields, unsupported } from '../../api/validate.ts';
import type { Library } from '../../library/library.ts';
import { modelfileText, parametersText } from '../../library/preset.ts';
import type { LibraryModel } from '../../library/types.ts';
import { HearthError } from '../../util/errors.ts';
import { ndjsonLine } from '../sse.ts';

export interface LibraryRouteOptions {
  /** Called after a name is deleted (the server unloads the model it names, if loaded). */
  onRemoved?: (name: string) => Promise<void> | void;
}

const tagged = (name: string): string => (name.includes(':') ? name : `${name}:latest`);

function details(m: LibraryModel) {
  const family = m.arch ?? '';
  return {
    parent_model: m.preset?.from ?? '', format: 'gguf' as const, family, families: family ? [family] : [],
    parameter_size: m.paramCount === undefined ? '' : parameterSize(m.paramCount), quantization_level: m.quantization ?? '',
  };
}

function tag(m: LibraryModel) {
  return { name: tagged(m.name), model: tagged(m.name), modified_at: m.modifiedAt.toISOString(), size: m.size, digest: m.sha256 ?? '', details: details(m) };
}

/** The header's metadata as plain values (scalars and short arrays; vocabularies and the chat template left out). */
function headerInfo(path: string): { info: Record<string, unknown>; template: string } {
  const file = openGGUF(path);
  try {
    const plain = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v);
    const info: Record<string, unknown> = {};
    for (const [k, v] of file.metadata) {
      if (k === 'tokenizer.chat_template') continue;
      if (v.type !== GGUFValueType.ARRAY) info[k] = plain(v.value);
      else if (v.value.length <= 64 && v.itemType !== GGUFValueType.ARRAY) info[k] = Array.from(v.value as ArrayLike<unknown>, plain);
    }
    return { info, template: file.metadata.getString('tokenizer.chat_template', '') ?? '' };
  } finally {
    file.close();
  }
}

function openaiModel(m: LibraryModel) {
  return { id: m.name, object: 'model' as const, created: Math.floor(m.addedAt.getTime() / 1000), owned_by: 'hearth' };
}

export function libraryRoutes(app: FastifyInstance, library: Library, o: LibraryRouteOptions = {}): void {
  const find = (name: string, param = 'model'): LibraryModel => {
    try { return library.require(name); } catch (e) {
      if (e instanceof HearthError && e.code === 'not_found') throw new FieldError(param, e.message, 'not_found');
      throw e;
    }
  };

  app.get('/api/tags', async () => ({ models: library.list().map(tag) }));

  app.post('/api/show', async (request) => {
    const f = new Fields(request.body);
    const name = f.string('model', { nonEmpty: true }) ?? f.string('name', { nonEmpty: true });
    if (!name) throw new FieldError('model', 'model is required');
    f.boolean('verbose');
    f.rejectUnknown();
    const m = find(name);
    const { info, template } = headerInfo(m.path);
    return {
      license: '',
      modelfile: modelfileText(m.preset?.from ?? m.path, m.preset),
      parameters: parametersText(m.preset?.parameters),
      template,
      ...(m.preset?.system === undefined ? {} : { system: m.preset.system }),
      details: details(m),
      model_info: { ...info, 'general.parameter_count': m.paramCount },
      modified_at: m.modifiedAt.toISOString(),
    };
  });

  app.delete('/api/delete', async (request) => {
    const f = new Fields(request.body);
    const name = f.string('model', { nonEmpty: true }) ?? f.string('name', { nonEmpty: true });
    if (!name) throw new FieldError('model', 'model is required');
    f.rejectUnknown();
    find(name);
    const { model } = library.remove(name);
    await o.onRemoved?.(model.name);
    return {};
  });

  app.post('/api/copy', async (request) => {
    const f = new Fields(request.body);
    const source = f.required('source', (x, k) => x.string(k, { nonEmpty: true }));
    const destination = f.required('destination', (x, k) => x.string(k, { nonEmpty: true }));
    f.rejectUnknown();
    find(source, 'source');
    library.copy(source, destination);
    return {};
  });

  app.post('/api/create', async (request, reply) => {
    const f = new Fields(request.body);
    const name = f.string('model', { nonEmpty: true }) ?? f.string('name', { nonEmpty: true });
    if (!name) throw new FieldError('model', 'model is required');
    const from = f.string('from', { nonEmpty: true });
    if (!from) throw new FieldError('from', 'from is required: the library model the preset is made from (hearth creates presets only)');
    const system = f.string('system');
    const parameters = f.object('parameters')?.obj;
    const stream = f.boolean('stream') ?? true;
    for (const k of ['files', 'adapters', 'template', 'license', 'messages', 'quantize', 'modelfile']) {
      if (f.has(k)) throw unsupported(k, 'hearth creates presets: from, system and parameters');
    }
    f.rejectUnknown();
    find(from, 'from');
    library.create(name, { from, system, parameters });
    if (!stream) return { status: 'success' };
    const out = new PassThrough();
    reply.header('content-type', 'application/x-ndjson');
    out.end(['using existing layer', 'writing manifest', 'success'].map((status) => ndjsonLine({ status })).join(''));
    return reply.send(out);
  });

  app.post('/api/push', async () => {
    throw new HearthError('not_implemented', 'hearth does not publish models: /api/push is not supported (share the .gguf file, or push it to the Hugging Face Hub)');
  });

  app.get('/v1/models', async () => ({ object: 'list', data: library.list().map(openaiModel) }));
  app.get('/v1/models/*', async (request) => openaiModel(find((request.params as { '*': string })['*'])));
}
