// Ollama's model registry (registry.ollama.ai, or HEARTH_OLLAMA_REGISTRY): the OCI distribution API it speaks.
// A manifest lists a model's layers by media type and sha256 digest; the weights are the layer of type
// application/vnd.ollama.image.model (a GGUF), and the params (JSON default options) and system (text) layers
// become the pulled model's preset. Blobs answer a redirect to a CDN, which fetch follows.

import { createHash } from 'node:crypto';
import { HearthError } from '../util/errors.ts';
import { checkParameters } from './preset.ts';
import type { ModelPreset } from './types.ts';

export const DEFAULT_REGISTRY = 'https://registry.ollama.ai';
export const MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
export const MODEL_LAYER = 'application/vnd.ollama.image.model';
const PARAMS_LAYER = 'application/vnd.ollama.image.params';
const SYSTEM_LAYER = 'application/vnd.ollama.image.system';
/** The small layers worth reading: they hold what the preset is made of. */
export const PRESET_LAYERS: readonly string[] = [PARAMS_LAYER, SYSTEM_LAYER];
/** A params or system layer larger than this is not what Ollama writes; refuse it rather than buffer it. */
const SMALL_LAYER_MAX = 1 << 20;

/** A model in the registry: `{base}/v2/{namespace}/{name}/manifests/{tag}`. */
export interface RegistryRef {
  base: string;
  namespace: string;
  name: string;
  tag: string;
}

export interface Layer {
  mediaType: string;
  digest: string;
  size: number;
}

/** The bare form: NAME or NAME:TAG, lower-case like Ollama's names, so local paths and other sources never match. */
const BARE = /^[a-z0-9][a-z0-9._-]*(:[A-Za-z0-9._-]+)?$/;
const PATH_PART = /^[a-z0-9][a-z0-9._-]*$/;
const TAG = /^[A-Za-z0-9._-]+$/;

export function registryBase(env: NodeJS.ProcessEnv): string {
  return (env.HEARTH_OLLAMA_REGISTRY || DEFAULT_REGISTRY).replace(/\/+$/, '');
}

/**
 * A registry reference from `ollama.com/NAMESPACE/NAME[:TAG]`, `registry.ollama.ai/…` (or the HEARTH_OLLAMA_REGISTRY
 * host), or bare `NAME[:TAG]` (namespace library); undefined when the source is not one of these forms.
 */
export function parseRegistryRef(source: string, env: NodeJS.ProcessEnv): RegistryRef | undefined {
  const base = registryBase(env);
  const host = new URL(base).host;
  for (const h of new Set(['ollama.com', 'registry.ollama.ai', host])) {
    for (const prefix of [`${h}/`, `https://${h}/`, `http://${h}/`]) {
      // A URL of a .gguf on that host is a plain download, not a registry name.
      if (!source.startsWith(prefix) || /\.gguf$/i.test(source)) continue;
      const m = source.slice(prefix.length).match(/^([^/:]+)\/([^/:]+)(?::([^/:]+))?$/);
      if (!m || !PATH_PART.test(m[1]!) || !PATH_PART.test(m[2]!) || (m[3] !== undefined && !TAG.test(m[3]))) {
        throw new HearthError('invalid_argument', `"${source}": not a registry model; use ${h}/NAMESPACE/NAME[:TAG], e.g. ollama.com/library/llama3.2:1b`);
      }
      return { base, namespace: m[1]!, name: m[2]!, tag: m[3] ?? 'latest' };
    }
  }
  // A bare name that looks like a file (x.gguf) is a file name someone meant, not a model in the registry.
  if (!BARE.test(source) || /\.gguf(:|$)/i.test(source)) return undefined;
  const [name, tag] = source.split(':');
  return { base, namespace: 'library', name: name!, tag: tag ?? 'latest' };
}

/** The name Ollama shows: `NAME:TAG`, or `NAMESPACE/NAME:TAG` outside the library namespace. */
export function catalogName(ref: RegistryRef): string {
  return ref.namespace === 'library' ? `${ref.name}:${ref.tag}` : `${ref.namespace}/${ref.name}:${ref.tag}`;
}

/** The file in the models folder: `NAME-TAG.gguf`, namespace-prefixed outside the library namespace. */
export function registryFileName(ref: RegistryRef): string {
  return `${ref.namespace === 'library' ? '' : `${ref.namespace}-`}${ref.name}-${ref.tag}.gguf`;
}

/** The source as recorded in the catalog; pulling it again reaches the same model. */
export function registrySource(ref: RegistryRef): string {
  return `ollama.com/${ref.namespace}/${ref.name}:${ref.tag}`;
}

export function blobUrl(ref: RegistryRef, digest: string): string {
  return `${ref.base}/v2/${ref.namespace}/${ref.name}/blobs/${digest}`;
}

function isLayer(l: unknown): l is Layer {
  const o = l as Record<string, unknown>;
  return typeof o?.mediaType === 'string' && typeof o.digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(o.digest)
    && typeof o.size === 'number' && Number.isSafeInteger(o.size) && o.size >= 0;
}

/** The layers of a model's manifest; not_found when the registry does not have NAME:TAG. */
export async function fetchManifest(ref: RegistryRef, signal?: AbortSignal): Promise<Layer[]> {
  const url = `${ref.base}/v2/${ref.namespace}/${ref.name}/manifests/${encodeURIComponent(ref.tag)}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: MANIFEST_TYPE }, signal });
  } catch (e) {
    if (signal?.aborted) throw new HearthError('aborted', `pull of ${catalogName(ref)} cancelled`, { cause: e });
    throw new HearthError('io_error', `fetching the manifest of ${catalogName(ref)} from ${ref.base}: ${(e as Error).message}`, { cause: e });
  }
  if (res.status === 404) {
    await res.body?.cancel();
    throw new HearthError('not_found', `model ${catalogName(ref)} not found in the registry (${ref.base}); check the name and tag on ollama.com/${ref.namespace === 'library' ? 'library/' : ''}${ref.namespace === 'library' ? ref.name : `${ref.namespace}/${ref.name}`}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new HearthError(res.status === 401 || res.status === 403 ? 'unauthorized' : 'io_error', `fetching the manifest of ${catalogName(ref)}: HTTP ${res.status}`);
  }
  const body = await res.json().catch(() => undefined) as { layers?: unknown } | undefined;
  if (!body || !Array.isArray(body.layers) || !body.layers.every(isLayer)) {
    throw new HearthError('io_error', `the manifest of ${catalogName(ref)} is not an image manifest with sha256 layers`);
  }
  return body.layers;
}

/** The GGUF layer of a manifest; a model made of anything else (an adapter alone, a projector) is refused. */
export function modelLayer(ref: RegistryRef, layers: readonly Layer[]): Layer {
  const models = layers.filter((l) => l.mediaType === MODEL_LAYER);
  if (models.length === 0) {
    throw new HearthError('invalid_argument', `${catalogName(ref)} has no model weights layer (${MODEL_LAYER}); its layers: ${layers.map((l) => l.mediaType).join(', ') || 'none'}`);
  }
  if (models.length > 1) {
    throw new HearthError('not_implemented', `${catalogName(ref)} has ${models.length} model layers (a model with a vision projector or adapters); hearth pulls single-file models from the registry`);
  }
  return models[0]!;
}

/** Fetches a small layer into memory, checked against its digest. */
export async function fetchSmallLayer(ref: RegistryRef, layer: Layer, signal?: AbortSignal): Promise<Buffer> {
  if (layer.size > SMALL_LAYER_MAX) throw new HearthError('io_error', `${catalogName(ref)}: the ${layer.mediaType} layer is ${layer.size} bytes; expected a small text layer`);
  const res = await fetch(blobUrl(ref, layer.digest), { redirect: 'follow', signal });
  if (!res.ok) {
    await res.body?.cancel();
    throw new HearthError(res.status === 404 ? 'not_found' : 'io_error', `${catalogName(ref)}: fetching the ${layer.mediaType} layer: HTTP ${res.status}`);
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (actual !== layer.digest) throw new HearthError('io_error', `${catalogName(ref)}: the ${layer.mediaType} layer does not match its digest: expected ${layer.digest}, got ${actual}`);
  return bytes;
}

/**
 * The preset a registry model carries: its system prompt and default options. Options hearth's server would refuse
 * (tfs_z, an option it does not know) are dropped, so a model pulls even when its defaults reach further.
 */
export function presetFromLayers(from: string, layers: ReadonlyMap<string, Buffer>): { preset?: ModelPreset; dropped: string[] } {
  const preset: ModelPreset = { from };
  const dropped: string[] = [];
  const system = layers.get(SYSTEM_LAYER);
  if (system !== undefined) preset.system = system.toString('utf8');
  const paramsBytes = layers.get(PARAMS_LAYER);
  if (paramsBytes !== undefined) {
    let raw: unknown;
    try { raw = JSON.parse(paramsBytes.toString('utf8')); } catch { raw = undefined; }
    if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
      const parameters: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(raw)) {
        try { Object.assign(parameters, checkParameters({ [k]: v })); } catch { dropped.push(k); }
      }
      if (Object.keys(parameters).length) preset.parameters = parameters;
    } else {
      dropped.push('(params layer: not a JSON object)');
    }
  }
  return { preset: preset.system !== undefined || preset.parameters ? preset : undefined, dropped };
}
