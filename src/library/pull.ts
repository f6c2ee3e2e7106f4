// Pulls a GGUF model into the models folder (HEARTH_MODELS) from the Hugging Face Hub, Ollama's registry or a plain
// URL: resolves the source, downloads each file (every part of a split GGUF) into FILE.partial (resumed with HTTP
// Range), checks the sha256 and renames atomically. Progress follows Ollama's pull events (pulling manifest,
// pulling <digest>, verifying sha256 digest, writing manifest, success).

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { modelsDir } from '../model/resolve.ts';
import { HearthError } from '../util/errors.ts';
import { splitPartNames } from './describe.ts';
import { isMmprojFile, mmprojPathFor, pickMmproj } from './mmproj.ts';
import {
  blobUrl, catalogName, fetchManifest, fetchSmallLayer, modelLayer, parseRegistryRef, presetFromLayers, PRESET_LAYERS,
  registryFileName, registrySource, type Layer, type RegistryRef,
} from './registry.ts';
import type { ModelPreset } from './types.ts';

export const DEFAULT_QUANT = 'Q4_K_M';

/** One progress event, in the shape of Ollama's /api/pull stream. */
export interface PullProgress {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

/** Where the bytes of a model come from, once a source string is understood. */
export interface ResolvedSource {
  url: string;
  file: string;
  /** sha256 (hex) when the Hub lists it; plain URLs have none. */
  sha256?: string;
  size?: number;
  /** The Hub repo (OWNER/REPO) when the source is on the Hub. */
  repo?: string;
  /** Every file of a split GGUF in order, this one (the first part) included. */
  parts?: ResolvedSource[];
  /** A model in Ollama's registry: the manifest's small layers that make the preset. */
  registry?: { ref: RegistryRef; presetLayers: Layer[] };
  /** The vision encoder the Hub repo ships beside the model (mmproj-*.gguf), pulled with it as NAME.mmproj.gguf. */
  mmproj?: ResolvedSource;
}

export interface PullOptions {
  env?: NodeJS.ProcessEnv;
  /** File name (without .gguf) under the models folder; default the source's file name. */
  name?: string;
  onProgress?: (p: PullProgress) => void;
  signal?: AbortSignal;
}

export interface PullResult {
  /** The model file (the first part of a split GGUF). */
  path: string;
  /** sha256 of `path` (hex). */
  sha256: string;
  /** Bytes on disk, all parts together. */
  size: number;
  /** Bytes this pull fetched over the network (less than size when a partial download was resumed). */
  fetched: number;
  /** Every part of a split GGUF in order, `path` first; absent for a single file. */
  parts?: string[];
  /** The catalog name the source implies (`NAME:TAG` for a registry model) unless a file name was asked for. */
  name?: string;
  /** The source in the form to record, where it differs from the string given (a registry model's ollama.com/…). */
  source?: string;
  /** A registry model's system prompt and default options. */
  preset?: ModelPreset;
  /** The vision encoder pulled beside the model (NAME.mmproj.gguf), where the repo has one. */
  mmproj?: string;
}

/** The downloaded bytes do not match the digest the source lists; the partial file has been removed. */
export class DigestMismatchError extends HearthError {
  readonly expected: string;
  readonly actual: string;
  constructor(file: string, expected: string, actual: string) {
    super('io_error', `${file}: sha256 mismatch: expected ${expected}, got ${actual}; the partial download was removed, pull again`);
    this.expected = expected;
    this.actual = actual;
  }
}

function hubEndpoint(env: NodeJS.ProcessEnv): string {
  return (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
}

function authHeaders(env: NodeJS.ProcessEnv): Record<string, string> {
  return env.HF_TOKEN ? { authorization: `Bearer ${env.HF_TOKEN}` } : {};
}

function httpError(status: number, what: string, repo: string | undefined, env: NodeJS.ProcessEnv): HearthError {
  if (status === 401 || status === 403) {
    const msg = repo
      ? `${what}: HTTP ${status}: the repo ${repo} is gated or private; accept its terms on the Hub and set HF_TOKEN to a token that can read it${env.HF_TOKEN ? ' (the HF_TOKEN given was refused)' : ''}`
      : `${what}: HTTP ${status}: the server refused access`;
    return new HearthError('unauthorized', msg);
  }
  if (status === 404) return new HearthError('not_found', `${what}: HTTP 404: not found`);
  return new HearthError('io_error', `${what}: HTTP ${status}`);
}

interface TreeEntry { type: string; path: string; size?: number; lfs?: { oid: string; size: number } }

async function listTree(repo: string, revision: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<TreeEntry[]> {
  // Recursive: repos keep big quants' split parts in a folder per quant (Q4_K_M/NAME-Q4_K_M-00001-of-00003.gguf).
  const url = `${hubEndpoint(env)}/api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`;
  const res = await fetch(url, { headers: authHeaders(env), signal });
  if (!res.ok) throw httpError(res.status, `listing ${repo}`, repo, env);
  const body = await res.json() as unknown;
  if (!Array.isArray(body)) throw new HearthError('io_error', `listing ${repo}: the Hub answered something other than a file list`);
  return body as TreeEntry[];
}

function hubFile(repo: string, revision: string, entry: TreeEntry, env: NodeJS.ProcessEnv): ResolvedSource {
  return {
    url: `${hubEndpoint(env)}/${repo}/resolve/${encodeURIComponent(revision)}/${entry.path.split('/').map(encodeURIComponent).join('/')}`,
    file: basename(entry.path),
    sha256: entry.lfs?.oid,
    size: entry.lfs?.size ?? entry.size,
    repo,
  };
}

/**
 * The .gguf files of a listing whose name carries the quant tag (case-insensitive, as a whole word). The parts of a
 * split GGUF are one match, named by its first part.
 */
export function matchQuant(files: readonly string[], quant: string): string[] {
  const q = quant.toLowerCase().replace(/[^a-z0-9]/g, '[-_.]?');
  const re = new RegExp(`(^|[^a-z0-9])${q}($|[^a-z0-9])`, 'i');
  const hits = files.filter((f) => f.toLowerCase().endsWith('.gguf') && re.test(basename(f).slice(0, -5)))
    .map((f) => {
      const first = splitPartNames(basename(f))?.[0];
      return first ? f.slice(0, f.length - basename(f).length) + first : f;
    });
  return [...new Set(hits)];
}

/**
 * Understands a source: `hf.co/OWNER/REPO[:QUANT]`, `hf.co/OWNER/REPO/FILE.gguf`,
 * `https://huggingface.co/OWNER/REPO/resolve/REV/FILE.gguf` (or the same under HF_ENDPOINT), a plain URL of a .gguf,
 * or a model in Ollama's registry: `ollama.com/NAMESPACE/NAME[:TAG]`, `registry.ollama.ai/…`, bare `NAME[:TAG]`.
 */
export async function resolveSource(source: string, env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Promise<ResolvedSource> {
  const endpoint = hubEndpoint(env);
  const hubPrefixes = ['hf.co/', 'huggingface.co/', 'https://hf.co/', 'https://huggingface.co/', `${endpoint}/`];
  for (const prefix of hubPrefixes) {
    if (!source.startsWith(prefix)) continue;
    const rest = source.slice(prefix.length);
    const resolveAt = rest.match(/^([^/]+\/[^/]+)\/(?:resolve|blob)\/([^/]+)\/(.+\.gguf)(?:\?.*)?$/i);
    if (resolveAt) return fileInRepo(resolveAt[1]!, resolveAt[2]!, decodeURIComponent(resolveAt[3]!), env, signal);
    const direct = rest.match(/^([^/:]+\/[^/:]+)\/(.+\.gguf)$/i);
    if (direct) return fileInRepo(direct[1]!, 'main', direct[2]!, env, signal);
    const byQuant = rest.match(/^([^/:]+\/[^/:]+?)(?::([^/:]+))?$/);
    if (byQuant) return fileByQuant(byQuant[1]!, byQuant[2] ?? DEFAULT_QUANT, env, signal);
    throw new HearthError('invalid_argument', `"${source}": not a Hub source; use hf.co/OWNER/REPO[:QUANT] or hf.co/OWNER/REPO/FILE.gguf`);
  }
  const ref = parseRegistryRef(source, env);
  if (ref) return fromRegistry(ref, signal);
  if (/^https?:\/\//i.test(source)) {
    const url = new URL(source);
    const file = decodeURIComponent(basename(url.pathname));
    if (!file.toLowerCase().endsWith('.gguf')) throw new HearthError('invalid_argument', `"${source}": the URL does not name a .gguf file`);
    return { url: url.href, file };
  }
  throw new HearthError('invalid_argument', `"${source}": not a source hearth can pull; use NAME[:TAG] (Ollama's registry), hf.co/OWNER/REPO[:QUANT], hf.co/OWNER/REPO/FILE.gguf or an https URL of a .gguf`);
}

async function fromRegistry(ref: RegistryRef, signal?: AbortSignal): Promise<ResolvedSource> {
  const layers = await fetchManifest(ref, signal);
  const model = modelLayer(ref, layers);
  return {
    url: blobUrl(ref, model.digest),
    file: registryFileName(ref),
    sha256: model.digest.slice('sha256:'.length),
    size: model.size,
    registry: { ref, presetLayers: layers.filter((l) => PRESET_LAYERS.includes(l.mediaType)) },
  };
}

async function fileInRepo(repo: string, revision: string, file: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<ResolvedSource> {
  const tree = await listTree(repo, revision, env, signal);
  const entry = tree.find((e) => e.type === 'file' && e.path === file);
  if (!entry) {
    const ggufs = tree.filter((e) => e.path.toLowerCase().endsWith('.gguf')).map((e) => e.path);
    throw new HearthError('not_found', `${repo} has no file ${file}${ggufs.length ? `; its .gguf files: ${ggufs.join(', ')}` : ' (and no .gguf files)'}`);
  }
  return withMmproj(withParts(repo, revision, tree, entry.path, env), repo, revision, tree, entry.path, undefined, env);
}

/** The model with the repo's vision encoder beside it, when the repo ships one and the file asked for is not it. */
function withMmproj(src: ResolvedSource, repo: string, revision: string, tree: readonly TreeEntry[], path: string, quant: string | undefined,
  env: NodeJS.ProcessEnv): ResolvedSource {
  if (isMmprojFile(path)) return src;
  const files = tree.filter((e) => e.type === 'file');
  const mm = pickMmproj(files.map((e) => e.path), path, quant);
  return mm ? { ...src, mmproj: hubFile(repo, revision, files.find((e) => e.path === mm)!, env) } : src;
}

/**
 * The Hub file at `path`, with every part of the set when it names one part of a split GGUF (each verified by its own
 * sha256); `path` is listed in the tree unless it is a split set's first part, which is looked up with the others.
 */
function withParts(repo: string, revision: string, tree: readonly TreeEntry[], path: string, env: NodeJS.ProcessEnv): ResolvedSource {
  const names = splitPartNames(basename(path));
  if (!names) return hubFile(repo, revision, tree.find((e) => e.type === 'file' && e.path === path)!, env);
  const dir = path.slice(0, path.length - basename(path).length);
  const entries = names.map((n) => tree.find((e) => e.type === 'file' && e.path === dir + n));
  const missing = names.filter((_, i) => !entries[i]).map((n) => dir + n);
  if (missing.length) throw new HearthError('not_found', `${repo}: ${basename(path)} is part of a ${names.length}-part model, and the repo lacks ${missing.join(', ')}`);
  const parts = entries.map((e) => hubFile(repo, revision, e!, env));
  return { ...parts[0]!, parts };
}

async function fileByQuant(repo: string, quant: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<ResolvedSource> {
  const tree = (await listTree(repo, 'main', env, signal)).filter((e) => e.type === 'file');
  // a repo's vision encoders (mmproj-*.gguf) are not its models: one comes along with the model
  const ggufs = tree.map((e) => e.path).filter((p) => p.toLowerCase().endsWith('.gguf') && !isMmprojFile(p));
  const hits = matchQuant(ggufs, quant);
  if (hits.length === 1) return withMmproj(withParts(repo, 'main', tree, hits[0]!, env), repo, 'main', tree, hits[0]!, quant, env);
  if (ggufs.length === 0) throw new HearthError('not_found', `${repo} has no .gguf files`);
  if (hits.length === 0) throw new HearthError('not_found', `${repo} has no .gguf file tagged ${quant}; its .gguf files: ${ggufs.join(', ')}; pick one with hf.co/${repo}:QUANT or hf.co/${repo}/FILE.gguf`);
  throw new HearthError('invalid_argument', `${repo} has several .gguf files tagged ${quant}: ${hits.join(', ')}; name one with hf.co/${repo}/FILE.gguf`);
}

async function sizeOf(path: string): Promise<number> {
  try { return (await stat(path)).size; } catch { return 0; }
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function checkFreeSpace(dir: string, need: number): Promise<void> {
  const s = await statfs(dir);
  const free = s.bavail * s.bsize;
  if (need > free) {
    throw new HearthError('io_error', `not enough disk space in ${dir}: the download needs ${need} more bytes, ${free} are free`);
  }
}

const inFlight = new Map<string, Promise<PullResult>>();
const coalesced = new Map<string, Set<(p: PullProgress) => void>>();

/** The file names a pull writes: the source's own, or --name (a split model's parts keep their -0000i-of-0000N). */
function fileNames(parts: readonly ResolvedSource[], name: string | undefined): string[] {
  if (!name) return parts.map((p) => p.file);
  const stem = name.toLowerCase().endsWith('.gguf') ? name.slice(0, -5) : name;
  if (stem === '' || stem.includes('/') || stem.includes('\\') || stem.startsWith('.')) throw new HearthError('invalid_argument', `--name "${name}": a model name is a plain file name`);
  if (parts.length === 1) return [`${stem}.gguf`];
  return parts.map((p) => `${stem}${p.file.match(/-\d{5}-of-\d{5}\.gguf$/i)![0]}`);
}

/** Pulls a source into the models folder; two pulls of the same file in one process share one download. */
export async function pull(source: string, options: PullOptions = {}): Promise<PullResult> {
  const env = options.env ?? process.env;
  const emit = options.onProgress ?? (() => {});
  emit({ status: 'pulling manifest' });
  const src = await resolveSource(source, env, options.signal);
  const dir = modelsDir(env);
  const paths = fileNames(src.parts ?? [src], options.name).map((f) => join(dir, f));
  const path = paths[0]!;
  const running = inFlight.get(path);
  if (running) {
    const listeners = coalesced.get(path)!;
    listeners.add(emit);
    try { return await running; } finally { listeners.delete(emit); }
  }
  const listeners = new Set<(p: PullProgress) => void>([emit]);
  coalesced.set(path, listeners);
  const send = (ev: PullProgress) => { for (const l of listeners) l(ev); };
  // the vision encoder first, so that the model's own "success" is the last event
  const encoder = src.mmproj;
  const mmprojPath = mmprojPathFor(path);
  const p = (encoder ? download(encoder, dir, [mmprojPath], env, (ev) => { if (ev.status !== 'success') send(ev); }, options.signal) : Promise.resolve(undefined))
    .then(() => download(src, dir, paths, env, send, options.signal)).then((r) => {
    if (encoder) r = { ...r, mmproj: mmprojPath };
    if (!src.registry) return r;
    const { ref } = src.registry;
    return { ...r, ...(options.name ? {} : { name: catalogName(ref) }), source: registrySource(ref) };
  });
  inFlight.set(path, p);
  try { return await p; } finally { inFlight.delete(path); coalesced.delete(path); }
}

async function isIntact(path: string, src: ResolvedSource): Promise<boolean> {
  return src.sha256 !== undefined && await sizeOf(path) === src.size && await sha256File(path) === src.sha256.toLowerCase();
}

/** The progress status of a file: Ollama's `pulling <first 12 hex of the digest>`, or the file name without one. */
function pullingStatus(src: ResolvedSource): { status: string; digest: string } {
  return src.sha256
    ? { status: `pulling ${src.sha256.slice(0, 12)}`, digest: `sha256:${src.sha256}` }
    : { status: `pulling ${src.file}`, digest: `url:${src.file}` };
}

async function download(src: ResolvedSource, dir: string, paths: readonly string[], env: NodeJS.ProcessEnv,
  emit: (p: PullProgress) => void, signal?: AbortSignal): Promise<PullResult> {
  await mkdir(dir, { recursive: true });
  const parts = src.parts ?? [src];
  // A part already in place and intact is kept (a finished pull run again, or an earlier pull of the same set).
  const inPlace = await Promise.all(parts.map((p, i) => isIntact(paths[i]!, p)));
  let need = 0;
  for (const [i, p] of parts.entries()) {
    if (inPlace[i] || p.size === undefined) continue;
    const have = await sizeOf(`${paths[i]}.partial`);
    need += have > p.size ? p.size : p.size - have;
  }
  await checkFreeSpace(dir, need);
  let fetched = 0;
  for (const [i, p] of parts.entries()) {
    if (inPlace[i]) emit({ ...pullingStatus(p), total: p.size, completed: p.size });
    else fetched += await fetchFile(p, dir, `${paths[i]}.partial`, env, emit, signal);
  }
  const small = new Map<string, Buffer>();
  if (src.registry) {
    const { ref, presetLayers } = src.registry;
    for (const l of presetLayers) {
      const ev = { status: `pulling ${l.digest.slice(7, 19)}`, digest: l.digest, total: l.size };
      emit({ ...ev, completed: 0 });
      small.set(l.mediaType, await fetchSmallLayer(ref, l, signal));
      emit({ ...ev, completed: l.size });
    }
  }
  emit({ status: 'verifying sha256 digest' });
  let sha256 = '', size = 0;
  for (const [i, p] of parts.entries()) {
    const file = inPlace[i] ? paths[i]! : `${paths[i]}.partial`;
    const got = await sizeOf(file);
    if (p.size !== undefined && got !== p.size) {
      throw new HearthError('io_error', `downloading ${p.file}: got ${got} of ${p.size} bytes; pull again to resume`);
    }
    const actual = inPlace[i] ? p.sha256!.toLowerCase() : await sha256File(file);
    if (p.sha256 && actual !== p.sha256.toLowerCase()) {
      await rm(file, { force: true });
      throw new DigestMismatchError(p.file, p.sha256, actual);
    }
    if (i === 0) sha256 = actual;
    size += got;
  }
  emit({ status: 'writing manifest' });
  // Every part is renamed only once all are verified, so a half-pulled split model never looks complete.
  for (const [i] of parts.entries()) if (!inPlace[i]) await rename(`${paths[i]}.partial`, paths[i]!);
  emit({ status: 'success' });
  const result: PullResult = { path: paths[0]!, sha256, size, fetched };
  if (parts.length > 1) result.parts = [...paths];
  if (src.registry) {
    const { preset } = presetFromLayers(catalogName(src.registry.ref), small);
    if (preset) result.preset = preset;
  }
  return result;
}

/** Downloads one file into its partial (resuming what is there); the bytes fetched. */
async function fetchFile(src: ResolvedSource, dir: string, partial: string, env: NodeJS.ProcessEnv,
  emit: (p: PullProgress) => void, signal?: AbortSignal): Promise<number> {
  let have = await sizeOf(partial);
  if (src.size !== undefined && have > src.size) { await rm(partial, { force: true }); have = 0; }
  const headers: Record<string, string> = { ...(src.repo ? authHeaders(env) : {}) };
  if (have > 0) headers.range = `bytes=${have}-`;
  let res: Response;
  try {
    res = await fetch(src.url, { headers, redirect: 'follow', signal });
  } catch (e) {
    if (signal?.aborted) throw new HearthError('aborted', `pull of ${src.file} cancelled`, { cause: e });
    throw new HearthError('io_error', `downloading ${src.file}: ${(e as Error).message}`, { cause: e });
  }
  const { status, digest } = pullingStatus(src);
  if (res.status === 416 && src.size !== undefined && have === src.size) {
    // The partial is whole already (the pull stopped between download and rename).
    await res.body?.cancel();
    emit({ status, digest, total: src.size, completed: have });
    return 0;
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw httpError(res.status, `downloading ${src.file}`, src.repo, env);
  }
  if (res.status !== 206) have = 0; // The server ignored Range: start over.
  const length = Number(res.headers.get('content-length') ?? NaN);
  const total = src.size ?? (Number.isFinite(length) ? have + length : undefined);
  if (src.size === undefined && total !== undefined) await checkFreeSpace(dir, total - have);
  let completed = have;
  emit({ status, digest, total, completed });
  const out = createWriteStream(partial, { flags: have > 0 ? 'a' : 'w' });
  let last = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', r));
      completed += chunk.length;
      const now = Date.now();
      if (now - last >= 100) { last = now; emit({ status, digest, total, completed }); }
    }
  } catch (e) {
    await new Promise<void>((r) => out.end(r));
    if (signal?.aborted) throw new HearthError('aborted', `pull of ${src.file} cancelled; pull again to resume from ${completed} bytes`, { cause: e });
    throw new HearthError('io_error', `downloading ${src.file}: the connection broke after ${completed} bytes (${(e as Error).message}); pull again to resume`, { cause: e });
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  emit({ status, digest, total: total ?? completed, completed });
  src.size ??= completed;
  return completed - have;
}
