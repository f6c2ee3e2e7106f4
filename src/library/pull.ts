// Pulls a GGUF model into the models folder (HEARTH_MODELS) from the Hugging Face Hub or a plain URL: resolves the
// source, downloads into FILE.partial (resumed with HTTP Range), checks the sha256 and renames atomically.
// Progress follows Ollama's pull events (pulling manifest, pulling <digest>, verifying, writing manifest, success).

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { modelsDir } from '../model/resolve.ts';
import { HearthError } from '../util/errors.ts';

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
}

export interface PullOptions {
  env?: NodeJS.ProcessEnv;
  /** File name (without .gguf) under the models folder; default the source's file name. */
  name?: string;
  onProgress?: (p: PullProgress) => void;
  signal?: AbortSignal;
}

export interface PullResult {
  path: string;
  sha256: string;
  size: number;
  /** Bytes this pull fetched over the network (less than size when a partial download was resumed). */
  fetched: number;
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
  const url = `${hubEndpoint(env)}/api/models/${repo}/tree/${encodeURIComponent(revision)}`;
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

/** The .gguf files of a listing whose name carries the quant tag (case-insensitive, as a whole word). */
export function matchQuant(files: readonly string[], quant: string): string[] {
  const q = quant.toLowerCase().replace(/[^a-z0-9]/g, '[-_.]?');
  const re = new RegExp(`(^|[^a-z0-9])${q}($|[^a-z0-9])`, 'i');
  return files.filter((f) => f.toLowerCase().endsWith('.gguf') && re.test(basename(f).slice(0, -5)));
}

/**
 * Understands a source: `hf.co/OWNER/REPO[:QUANT]`, `hf.co/OWNER/REPO/FILE.gguf`,
 * `https://huggingface.co/OWNER/REPO/resolve/REV/FILE.gguf` (or the same under HF_ENDPOINT), or a plain URL of a .gguf.
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
  if (/^https?:\/\//i.test(source)) {
    const url = new URL(source);
    const file = decodeURIComponent(basename(url.pathname));
    if (!file.toLowerCase().endsWith('.gguf')) throw new HearthError('invalid_argument', `"${source}": the URL does not name a .gguf file`);
    return { url: url.href, file };
  }
  throw new HearthError('invalid_argument', `"${source}": not a source hearth can pull; use hf.co/OWNER/REPO[:QUANT], hf.co/OWNER/REPO/FILE.gguf or an https URL of a .gguf`);
}

async function fileInRepo(repo: string, revision: string, file: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<ResolvedSource> {
  const tree = await listTree(repo, revision, env, signal);
  const entry = tree.find((e) => e.type === 'file' && e.path === file);
  if (!entry) {
    const ggufs = tree.filter((e) => e.path.toLowerCase().endsWith('.gguf')).map((e) => e.path);
    throw new HearthError('not_found', `${repo} has no file ${file}${ggufs.length ? `; its .gguf files: ${ggufs.join(', ')}` : ' (and no .gguf files)'}`);
  }
  return hubFile(repo, revision, entry, env);
}

async function fileByQuant(repo: string, quant: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<ResolvedSource> {
  const tree = (await listTree(repo, 'main', env, signal)).filter((e) => e.type === 'file');
  const ggufs = tree.map((e) => e.path).filter((p) => p.toLowerCase().endsWith('.gguf'));
  const hits = matchQuant(ggufs, quant);
  if (hits.length === 1) return hubFile(repo, 'main', tree.find((e) => e.path === hits[0])!, env);
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

/** Pulls a source into the models folder; two pulls of the same file in one process share one download. */
export async function pull(source: string, options: PullOptions = {}): Promise<PullResult> {
  const env = options.env ?? process.env;
  const emit = options.onProgress ?? (() => {});
  emit({ status: 'pulling manifest' });
  const src = await resolveSource(source, env, options.signal);
  const dir = modelsDir(env);
  const name = options.name ? (options.name.toLowerCase().endsWith('.gguf') ? options.name : `${options.name}.gguf`) : src.file;
  if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw new HearthError('invalid_argument', `--name "${options.name}": a model name is a plain file name`);
  const path = join(dir, name);
  const running = inFlight.get(path);
  if (running) {
    const listeners = coalesced.get(path)!;
    listeners.add(emit);
    try { return await running; } finally { listeners.delete(emit); }
  }
  const listeners = new Set<(p: PullProgress) => void>([emit]);
  coalesced.set(path, listeners);
  const p = download(src, dir, path, env, (ev) => { for (const l of listeners) l(ev); }, options.signal);
  inFlight.set(path, p);
  try { return await p; } finally { inFlight.delete(path); coalesced.delete(path); }
}

const coalesced = new Map<string, Set<(p: PullProgress) => void>>();

async function download(src: ResolvedSource, dir: string, path: string, env: NodeJS.ProcessEnv,
  emit: (p: PullProgress) => void, signal?: AbortSignal): Promise<PullResult> {
  await mkdir(dir, { recursive: true });
  const partial = `${path}.partial`;
  if (src.sha256 && await sizeOf(path) === src.size && await sha256File(path) === src.sha256) {
    // Already here and intact.
    emit({ status: `pulling ${src.sha256}`, digest: `sha256:${src.sha256}`, total: src.size, completed: src.size });
    emit({ status: 'verifying sha256 digest' });
    emit({ status: 'writing manifest' });
    emit({ status: 'success' });
    return { path, sha256: src.sha256, size: src.size!, fetched: 0 };
  }
  let have = await sizeOf(partial);
  if (src.size !== undefined && have > src.size) { await rm(partial, { force: true }); have = 0; }
  if (src.size !== undefined) await checkFreeSpace(dir, src.size - have);
  const headers: Record<string, string> = { ...(src.repo ? authHeaders(env) : {}) };
  if (have > 0) headers.range = `bytes=${have}-`;
  const res = await fetch(src.url, { headers, redirect: 'follow', signal });
  let fetched = 0;
  if (res.status === 416 && src.size !== undefined && have === src.size) {
    await res.body?.cancel();
  } else {
    if (!res.ok) throw httpError(res.status, `downloading ${src.file}`, src.repo, env);
    if (res.status !== 206) have = 0; // The server ignored Range: start over.
    const length = Number(res.headers.get('content-length') ?? NaN);
    const total = src.size ?? (Number.isFinite(length) ? have + length : undefined);
    if (src.size === undefined && total !== undefined) await checkFreeSpace(dir, total - have);
    const digest = src.sha256 ? `sha256:${src.sha256}` : `url:${src.file}`;
    const status = `pulling ${src.sha256 ? src.sha256.slice(0, 12) : src.file}`;
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
    emit({ status, digest, total, completed });
    src.size ??= completed;
    fetched = completed - have;
  }
  emit({ status: 'verifying sha256 digest' });
  const size = await sizeOf(partial);
  if (src.size !== undefined && size !== src.size) {
    throw new HearthError('io_error', `downloading ${src.file}: got ${size} of ${src.size} bytes; pull again to resume`);
  }
  const actual = await sha256File(partial);
  if (src.sha256 && actual !== src.sha256.toLowerCase()) {
    await rm(partial, { force: true });
    throw new DigestMismatchError(src.file, src.sha256, actual);
  }
  emit({ status: 'writing manifest' });
  await rename(partial, path);
  emit({ status: 'success' });
  return { path, sha256: actual, size, fetched };
}
