// The models a server serves, over HTTP: Ollama's /api/tags, /api/show and /api/ps, OpenAI's /v1/models[/{id}],
// and, when the server serves the library, /api/delete, /api/copy, /api/create (a preset of a library model) and
// /api/push (refused: hearth does not publish models). Every answer comes from the catalog, the GGUF headers and
// the model manager; no weights are read. models:read / models:write guard them (middleware/auth.ts).

import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { openGGUFModel } from '../../gguf/split.ts';
import { GGUFValueType } from '../../gguf/index.ts';
import { parameterSize } from '../../api/ollama/models.ts';
import { FieldError, Fields, unsupported } from '../../api/validate.ts';
import { Library } from '../../library/library.ts';
import { canonicalName } from '../../library/describe.ts';
import { modelPurpose } from '../../engine/model-info.ts';
import { modelCapabilities } from '../../provider/model-card.ts';
import type { LoadedModelInfo, ModelManager } from '../../provider/model-manager.ts';
import { capabilityNames } from '../../api/native.ts';
import { mmprojBeside } from '../../library/mmproj.ts';
import { modelfileText, parametersText } from '../../library/preset.ts';
import type { LibraryModel, ModelSource } from '../../library/types.ts';
import { HearthError } from '../../util/errors.ts';
import { ndjsonLine } from '../sse.ts';
import { anthropicModel, anthropicModelPage } from '../../api/anthropic/models.ts';
import { isAnthropic } from '../errors.ts';

export interface LibraryRouteOptions {
  /** Called after a name is deleted and its model, if loaded, unloaded. */
  onRemoved?: (name: string) => Promise<void> | void;
}

const tagged = (name: string): string => (name.includes(':') ? name : `${name}:latest`);

function details(m: LibraryModel) {
  const family = m.arch ?? '';
  return {
    // a pulled model's preset (its registry params and system) names the model itself: it has no parent
    parent_model: m.preset && canonicalName(m.preset.from) !== canonicalName(m.name) ? m.preset.from : '', format: 'gguf' as const, family, families: family ? [family] : [],
    parameter_size: m.paramCount === undefined ? '' : parameterSize(m.paramCount), quantization_level: m.quantization ?? '',
  };
}

/** Where a gateway name goes: the provider of `provider/model`, or the alias's first route's. */
const upstreamOwner = (m: LibraryModel): string => (m.upstream!.alias ? 'hearth' : m.upstream!.route[0]!.provider);

function tag(m: LibraryModel) {
  if (m.upstream) {
    const family = m.upstream.alias ? 'alias' : 'upstream';
    return {
      name: m.name, model: m.name, modified_at: m.modifiedAt.toISOString(), size: 0, digest: '',
      details: { parent_model: '', format: family, family, families: [family], parameter_size: '', quantization_level: '' },
      remote_host: upstreamOwner(m), route: m.upstream.route.map((r) => `${r.provider}/${r.model}`),
    };
  }
  return { name: tagged(m.name), model: tagged(m.name), modified_at: m.modifiedAt.toISOString(), size: m.size, digest: m.sha256 ?? '', details: details(m) };
}

interface HeaderFacts {
  /** Metadata as plain values (scalars and short arrays; vocabularies and the chat template left out). */
  info: Record<string, unknown>;
  template: string;
  /** What the model can do, as Ollama names it (completion, embedding, thinking, ...), judged as a load would. */
  capabilities: string[];
}

/** A model file's facts from its header alone (a split model's: every part's, as a classifier head may be in any). */
function headerInfo(path: string): HeaderFacts {
  const file = openGGUFModel(path);
  try {
    const arch = file.metadata.getString('general.architecture', undefined);
    const template = file.metadata.getString('tokenizer.chat_template', undefined);
    const facts = arch === undefined ? undefined : modelCapabilities(arch, modelPurpose(file, arch), template).capabilities;
    // a vision encoder beside the file (NAME.mmproj.gguf) is loaded with it
    const capabilities = facts ? capabilityNames({ ...facts, vision: facts.chat && mmprojBeside(path) !== undefined }) : [];
    const plain = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v);
    const info: Record<string, unknown> = {};
    for (const [k, v] of file.metadata) {
      if (k === 'tokenizer.chat_template') continue;
      if (v.type !== GGUFValueType.ARRAY) info[k] = plain(v.value);
      else if (v.value.length <= 64 && v.itemType !== GGUFValueType.ARRAY) info[k] = Array.from(v.value as ArrayLike<unknown>, plain);
    }
    return { info, template: template ?? '', capabilities };
  } finally {
    file.close();
  }
}

/**
 * Header facts by file (path, size and modification time), read once: a large vocabulary makes a header take a while
 * to parse, and /v1/models asks for every model's capabilities on each call.
 */
const headers = new Map<string, HeaderFacts>();
const HEADER_CACHE = 256;

function modelHeader(m: LibraryModel): HeaderFacts {
  const key = `${m.path}\0${m.size}\0${m.modifiedAt.getTime()}`;
  let facts = headers.get(key);
  if (!facts) {
    facts = headerInfo(m.path);
    if (headers.size >= HEADER_CACHE) headers.delete(headers.keys().next().value!);
    headers.set(key, facts);
  }
  return facts;
}

/** A model as /v1/models lists it. */
export function openaiModel(m: LibraryModel) {
  if (m.upstream) return { id: m.name, object: 'model' as const, created: 0, owned_by: upstreamOwner(m), capabilities: ['completion', 'tools'] };
  return {
    id: m.name, object: 'model' as const, created: Math.floor(m.addedAt.getTime() / 1000), owned_by: 'hearth',
    capabilities: modelHeader(m).capabilities,
  };
}

/** Ollama's far-future expiry for a model that stays loaded (keep_alive negative). */
const NEVER = '2318-01-01T00:00:00Z';

function psEntry(l: LoadedModelInfo) {
  return {
    name: tagged(l.name), model: tagged(l.name), size: l.bytes, digest: l.model.sha256 ?? '', details: details(l.model),
    expires_at: l.expiresAt?.toISOString() ?? NEVER, size_vram: 0, context_length: l.card?.nCtx ?? 0,
    // not in Ollama's answer: whether the model is still loading, and the requests holding it
    state: l.state, requests: l.leases,
  };
}

/**
 * The read routes over the models the manager serves (the library, or the files serve was given); the write
 * routes when `library` is the catalog they change.
 */
export function libraryRoutes(app: FastifyInstance, models: ModelManager, o: LibraryRouteOptions = {}): void {
  const source: ModelSource = models.source;
  const library = source instanceof Library ? source : source.base instanceof Library ? source.base : undefined;
  // the gateway's upstream lists, fetched again once their TTL has passed
  const listed = async (): Promise<LibraryModel[]> => {
    await source.refresh?.();
    return source.list();
  };
  const find = (name: string, param = 'model'): LibraryModel => {
    const m = source.get(name);
    if (m) return m;
    if (library) {
      try { return library.require(name); } catch (e) {
        if (e instanceof HearthError && e.code === 'not_found') throw new FieldError(param, e.message, 'not_found');
        throw e;
      }
    }
    const names = source.list().map((x) => `"${x.name}"`).join(', ');
    throw new FieldError(param, `model "${name}" is not served here; this server serves ${names || 'no models'}`, 'not_found');
  };

  app.get('/api/tags', async () => ({ models: (await listed()).map(tag) }));
  app.get('/api/ps', async () => ({ models: models.list().map(psEntry) }));

  app.post('/api/show', async (request) => {
    const f = new Fields(request.body);
    const name = f.string('model', { nonEmpty: true }) ?? f.string('name', { nonEmpty: true });
    if (!name) throw new FieldError('model', 'model is required');
    f.boolean('verbose');
    f.rejectUnknown();
    const m = find(name);
    if (m.upstream) {
      return {
        license: '', modelfile: '', parameters: '', template: '', capabilities: ['completion', 'tools'], details: tag(m).details, model_info: {},
        modified_at: m.modifiedAt.toISOString(), route: m.upstream.route.map((r) => `${r.provider}/${r.model}`),
      };
    }
    const { info, template, capabilities: fromHeader } = modelHeader(m);
    // a loaded model's card knows what the load added (vision from an mmproj)
    const card = models.provider(m.name)?.card;
    const capabilities = card ? capabilityNames(card.capabilities) : fromHeader;
    return {
      license: '',
      modelfile: modelfileText(m.preset?.from ?? m.path, m.preset),
      parameters: parametersText(m.preset?.parameters),
      template,
      capabilities,
      ...(m.preset?.system === undefined ? {} : { system: m.preset.system }),
      details: details(m),
      model_info: { ...info, 'general.parameter_count': m.paramCount },
      modified_at: m.modifiedAt.toISOString(),
    };
  });

  // The Anthropic SDKs send anthropic-version with every request: theirs is Anthropic's shape, the rest OpenAI's.
  app.get('/v1/models', async (request) => {
    const all = await listed();
    if (!isAnthropic(request)) return { object: 'list', data: all.map(openaiModel) };
    return anthropicModelPage(all.map(anthropicModel), request.query as Record<string, string | undefined>);
  });
  app.get('/v1/models/*', async (request) => {
    const m = find((request.params as { '*': string })['*']);
    return isAnthropic(request) ? anthropicModel(m) : openaiModel(m);
  });

  if (!library) return;

  app.delete('/api/delete', async (request) => {
    const f = new Fields(request.body);
    const name = f.string('model', { nonEmpty: true }) ?? f.string('name', { nonEmpty: true });
    if (!name) throw new FieldError('model', 'model is required');
    f.rejectUnknown();
    find(name);
    const { model } = library.remove(name);
    await models.unload(model.name);
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
}
