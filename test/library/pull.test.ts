// hearth pull against real loopback HTTP servers speaking the Hugging Face Hub's protocol (tree listing with lfs
// sha256 and sizes, resolve answered with a 302 to a second loopback server acting as CDN, Range, 401 for a gated
// repo without a token) and Ollama's registry protocol (manifests by tag, blobs answered with a 307 to the CDN),
// serving the bytes of stories260K.gguf (a split repo: those bytes cut in two); POST /api/pull through the ollama
// client, then hearth serves the pulled file. Measured: ~3 s alone (two spawned CLI pulls are most of it).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { pull, resolveSource, matchQuant, DigestMismatchError, type PullProgress, type PullResult } from '../../src/library/pull.ts';
import { parseRegistryRef, MANIFEST_TYPE, MODEL_LAYER } from '../../src/library/registry.ts';
import { modelParts } from '../../src/library/describe.ts';
import { isHearthError } from '../../src/util/errors.ts';
import { openGGUF } from '../../src/gguf/reader.ts';
import { Ollama } from 'ollama';
import { startServer } from '../server/harness.ts';
import { openStore } from '../../src/store/store.ts';
import { Library } from '../../src/library/library.ts';

const SHARED = process.env.HEARTH_SHARED ?? join(import.meta.dirname, '../../../shared');
const MODEL = readFileSync(join(SHARED, 'models/stories260K.gguf'));
const SHA = createHash('sha256').update(MODEL).digest('hex');
const CORRUPT = Buffer.from(MODEL); CORRUPT[CORRUPT.length - 10]! ^= 0xff;
const TOKEN = 'hf_testtoken';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
// A split model for the pull alone: the file's bytes cut in two arbitrary halves (each part has its own sha256).
const PART1 = MODEL.subarray(0, 300_000), PART2 = MODEL.subarray(300_000);

/** Files of each repo: path -> bytes (and the sha256 the listing claims). */
const REPOS: Record<string, { gated?: boolean; files: Record<string, { bytes: Buffer; sha: string }> }> = {
  'acme/stories-GGUF': { files: {
    'stories260K-Q4_K_M.gguf': { bytes: MODEL, sha: SHA },
    'stories260K-Q8_0.gguf': { bytes: MODEL, sha: SHA },
    'stories260K-f32.gguf': { bytes: MODEL, sha: SHA },
    'README.md': { bytes: Buffer.from('# stories'), sha: '' },
  } },
  'acme/twins-GGUF': { files: { 'a-Q4_K_M.gguf': { bytes: MODEL, sha: SHA }, 'b-q4_k_m.gguf': { bytes: MODEL, sha: SHA } } },
  'acme/gated-GGUF': { gated: true, files: { 'stories260K-Q4_K_M.gguf': { bytes: MODEL, sha: SHA } } },
  'acme/huge-GGUF': { files: { 'huge-Q4_K_M.gguf': { bytes: MODEL, sha: SHA } } },
  'acme/broken-GGUF': { files: { 'broken-Q4_K_M.gguf': { bytes: CORRUPT, sha: SHA } } },
  'acme/split-GGUF': { files: {
    'stories260K-Q4_K_M-00001-of-00002.gguf': { bytes: PART1, sha: sha256(PART1) },
    'stories260K-Q4_K_M-00002-of-00002.gguf': { bytes: PART2, sha: sha256(PART2) },
    'stories260K-Q8_0.gguf': { bytes: MODEL, sha: SHA },
  } },
  'acme/halfsplit-GGUF': { files: { 'stories260K-Q4_K_M-00002-of-00002.gguf': { bytes: PART2, sha: sha256(PART2) } } },
  // Big repos keep a split quant in a folder of its own; the listing shows it only when asked to recurse.
  'acme/folders-GGUF': { files: {
    'Q4_K_M/stories260K-Q4_K_M-00001-of-00002.gguf': { bytes: PART1, sha: sha256(PART1) },
    'Q4_K_M/stories260K-Q4_K_M-00002-of-00002.gguf': { bytes: PART2, sha: sha256(PART2) },
  } },
};

/** Ollama's registry: NAMESPACE/NAME -> its tags and layers (bytes served, digest listed: the bytes' unless given). */
const SYSTEM = 'You tell short stories.';
const PARAMS = { temperature: 0.7, stop: ['<|end|>'], tfs_z: 0.9, no_such_option: 1 };
const storyLayers = [
  { mediaType: MODEL_LAYER, bytes: MODEL },
  { mediaType: 'application/vnd.ollama.image.template', bytes: Buffer.from('{{ .Prompt }}') },
  { mediaType: 'application/vnd.ollama.image.system', bytes: Buffer.from(SYSTEM) },
  { mediaType: 'application/vnd.ollama.image.params', bytes: Buffer.from(JSON.stringify(PARAMS)) },
  { mediaType: 'application/vnd.ollama.image.license', bytes: Buffer.from('MIT') },
];
const REGISTRY: Record<string, { tags: string[]; layers: { mediaType: string; bytes: Buffer; digest?: string }[] }> = {
  'library/stories': { tags: ['260k', 'latest'], layers: storyLayers },
  'acme/stories': { tags: ['tiny'], layers: [{ mediaType: MODEL_LAYER, bytes: MODEL }] },
  'library/broken': { tags: ['latest'], layers: [{ mediaType: MODEL_LAYER, bytes: CORRUPT, digest: `sha256:${SHA}` }] },
  'library/noweights': { tags: ['latest'], layers: [storyLayers[1]!] },
};
const digestOf = (l: { bytes: Buffer; digest?: string }) => l.digest ?? `sha256:${sha256(l.bytes)}`;

let hub: Server, cdn: Server, registry: Server, hubUrl = '', cdnUrl = '', registryUrl = '';
/** Counters the tests read: body GETs served by the CDN, bytes sent, and a one-shot cut after N bytes. */
const stats = { bodyGets: 0, bytesSent: 0, cutAfter: 0, ignoreRange: false, delayMs: 0, trickle: 0 };

function sendBytes(req: IncomingMessage, res: ServerResponse, bytes: Buffer): void {
  stats.bodyGets++;
  let start = 0;
  const range = req.headers.range?.match(/^bytes=(\d+)-$/);
  if (range && !stats.ignoreRange) {
    start = Number(range[1]);
    if (start >= bytes.length) { res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end(); return; }
    res.writeHead(206, { 'content-length': bytes.length - start, 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`, 'accept-ranges': 'bytes' });
  } else {
    res.writeHead(200, { 'content-length': bytes.length, 'accept-ranges': 'bytes' });
  }
  const body = bytes.subarray(start);
  if (stats.cutAfter > 0) {
    const n = stats.cutAfter; stats.cutAfter = 0;
    res.write(body.subarray(0, n), () => { stats.bytesSent += n; res.socket?.destroy(); });
    return;
  }
  if (stats.trickle > 0) {
    // a slow link: `trickle` bytes every 25 ms, counted as they are written, until the client goes away
    const step = stats.trickle;
    let at = 0;
    const timer = setInterval(() => {
      if (res.destroyed) { clearInterval(timer); return; }
      const chunk = body.subarray(at, at + step);
      at += chunk.length;
      stats.bytesSent += chunk.length;
      if (at >= body.length) { clearInterval(timer); res.end(chunk); } else res.write(chunk);
    }, 25);
    res.on('close', () => clearInterval(timer));
    return;
  }
  stats.bytesSent += body.length;
  setTimeout(() => res.end(body), stats.delayMs);
}

before(async () => {
  cdn = createServer((req, res) => {
    const o = req.url!.match(/^\/oblob\/([^/]+\/[^/]+)\/(sha256:[0-9a-f]+)$/);
    if (o) {
      const layer = REGISTRY[o[1]!]?.layers.find((l) => digestOf(l) === o[2]);
      if (!layer) { res.writeHead(404).end(); return; }
      // Only the weights go through the counters (and the one-shot cut); the small layers are answered whole.
      if (layer.mediaType === MODEL_LAYER) sendBytes(req, res, layer.bytes);
      else res.writeHead(200, { 'content-length': layer.bytes.length }).end(layer.bytes);
      return;
    }
    const m = req.url!.match(/^\/blob\/([^/]+\/[^/]+)\/(.+)$/);
    const f = m && REPOS[m[1]!]?.files[decodeURIComponent(m[2]!)];
    if (!f) { res.writeHead(404).end(); return; }
    if (req.headers.authorization) { res.writeHead(400).end('the CDN must not see the Hub token'); return; }
    sendBytes(req, res, f.bytes);
  });
  hub = createServer((req, res) => {
    const url = req.url!;
    const tree = url.match(/^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/?]+)/);
    const resolve = url.match(/^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/);
    const repoName = tree?.[1] ?? resolve?.[1];
    const repo = repoName ? REPOS[repoName] : undefined;
    if (!repo) { res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Repository not found"}'); return; }
    if (repo.gated && req.headers.authorization !== `Bearer ${TOKEN}`) { res.writeHead(401).end('{"error":"Access to model is restricted"}'); return; }
    if (tree) {
      const listedSize = (f: { bytes: Buffer }) => (repoName === 'acme/huge-GGUF' ? 2 ** 60 : f.bytes.length);
      const recursive = new URL(url, hubUrl).searchParams.get('recursive') === 'true';
      const dirs = recursive ? [] : [...new Set(Object.keys(repo.files).filter((p) => p.includes('/')).map((p) => p.split('/')[0]!))]
        .map((path) => ({ type: 'directory', oid: 'x', size: 0, path }));
      const list = [...dirs, ...Object.entries(repo.files).filter(([path]) => recursive || !path.includes('/')).map(([path, f]) => f.sha
        ? { type: 'file', oid: 'x', size: listedSize(f), path, lfs: { oid: f.sha, size: listedSize(f), pointerSize: 135 } }
        : { type: 'file', oid: 'x', size: f.bytes.length, path })];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(list));
      return;
    }
    const file = decodeURIComponent(resolve![3]!);
    if (!repo.files[file]) { res.writeHead(404).end(); return; }
    res.writeHead(302, { location: `${cdnUrl}/blob/${repoName}/${encodeURIComponent(file)}` }).end();
  });
  registry = createServer((req, res) => {
    const manifest = req.url!.match(/^\/v2\/([^/]+\/[^/]+)\/manifests\/([^/]+)$/);
    const blob = req.url!.match(/^\/v2\/([^/]+\/[^/]+)\/blobs\/(sha256:[0-9a-f]+)$/);
    const model = REGISTRY[(manifest ?? blob)?.[1] ?? ''];
    const unknown = (code: string) => res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code }] }));
    if (!model) { unknown('NAME_UNKNOWN'); return; }
    if (manifest) {
      if (!model.tags.includes(decodeURIComponent(manifest[2]!))) { unknown('MANIFEST_UNKNOWN'); return; }
      if (req.headers.accept !== MANIFEST_TYPE) { res.writeHead(400).end('ask for the v2 manifest'); return; }
      const layers = model.layers.map((l) => ({ mediaType: l.mediaType, digest: digestOf(l), size: l.bytes.length }));
      const config = { mediaType: 'application/vnd.docker.container.image.v1+json', digest: `sha256:${'0'.repeat(64)}`, size: 2 };
      res.writeHead(200, { 'content-type': MANIFEST_TYPE }).end(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, config, layers }));
      return;
    }
    if (!model.layers.some((l) => digestOf(l) === blob![2])) { unknown('BLOB_UNKNOWN'); return; }
    res.writeHead(307, { location: `${cdnUrl}/oblob/${blob![1]}/${blob![2]}` }).end();
  });
  await Promise.all([hub, cdn, registry].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
  cdnUrl = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;
  registryUrl = `http://127.0.0.1:${(registry.address() as AddressInfo).port}`;
});

after(() => { for (const s of [hub, cdn, registry]) { s.close(); s.closeAllConnections(); } });

function freshEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-pull-'));
  return { HEARTH_MODELS: dir, HEARTH_HOME: dir, HF_ENDPOINT: hubUrl, HEARTH_OLLAMA_REGISTRY: registryUrl, ...extra };
}

function reset(): void { Object.assign(stats, { bodyGets: 0, bytesSent: 0, cutAfter: 0, ignoreRange: false, delayMs: 0, trickle: 0 }); }

test('quant tags match whole words, case-insensitive', () => {
  const files = ['m-Q4_K_M.gguf', 'm-q4_k_s.gguf', 'm.Q8_0.gguf', 'm-IQ4_XS.gguf', 'README.md'];
  assert.deepEqual(matchQuant(files, 'q4_k_m'), ['m-Q4_K_M.gguf']);
  assert.deepEqual(matchQuant(files, 'Q8_0'), ['m.Q8_0.gguf']);
  assert.deepEqual(matchQuant(files, 'Q4_XS'), []);
  // The parts of a split GGUF are one match, by the first part's name.
  const split = ['d/m-Q4_K_M-00002-of-00002.gguf', 'd/m-Q4_K_M-00001-of-00002.gguf', 'm-Q8_0.gguf'];
  assert.deepEqual(matchQuant(split, 'Q4_K_M'), ['d/m-Q4_K_M-00001-of-00002.gguf']);
});

test('each source form pulls the real GGUF, verified, with Ollama-shaped progress', async () => {
  reset();
  for (const source of [
    'hf.co/acme/stories-GGUF',
    'hf.co/acme/stories-GGUF:q8_0',
    'hf.co/acme/stories-GGUF/stories260K-f32.gguf',
    `${hubUrl}/acme/stories-GGUF/resolve/main/stories260K-Q8_0.gguf`,
    `${cdnUrl}/blob/acme/stories-GGUF/stories260K-f32.gguf`,
  ]) {
    const env = freshEnv();
    const events: PullProgress[] = [];
    const r = await pull(source, { env, onProgress: (p) => events.push(p) });
    assert.equal(r.sha256, SHA, source);
    assert.equal(r.size, MODEL.length);
    assert.ok(readFileSync(r.path).equals(MODEL), source);
    assert.ok(!existsSync(`${r.path}.partial`));
    const f = openGGUF(r.path);
    assert.equal(f.metadata.getString('general.architecture', ''), 'llama');
    const statuses = events.map((e) => e.status);
    assert.equal(statuses[0], 'pulling manifest');
    assert.deepEqual(statuses.slice(-3), ['verifying sha256 digest', 'writing manifest', 'success']);
    const last = events.filter((e) => e.status.startsWith('pulling ') && e.total !== undefined).at(-1)!;
    assert.equal(last.completed, MODEL.length);
    assert.equal(last.total, MODEL.length);
    if (!source.startsWith(cdnUrl)) assert.equal(last.digest, `sha256:${SHA}`);
    rmSync(env.HEARTH_MODELS!, { recursive: true });
  }
  const env = freshEnv();
  assert.equal((await pull('hf.co/acme/stories-GGUF', { env, name: 'tiny' })).path, join(env.HEARTH_MODELS!, 'tiny.gguf'));
  assert.equal((await resolveSource('hf.co/acme/stories-GGUF', env)).file, 'stories260K-Q4_K_M.gguf');
});

test('no match or several matches list the candidates', async () => {
  const env = freshEnv();
  await assert.rejects(pull('hf.co/acme/stories-GGUF:Q2_K', { env }), (e) =>
    isHearthError(e, 'not_found') && /stories260K-Q4_K_M\.gguf/.test(e.message) && /stories260K-f32\.gguf/.test(e.message));
  await assert.rejects(pull('hf.co/acme/twins-GGUF', { env }), (e) =>
    isHearthError(e, 'invalid_argument') && /a-Q4_K_M\.gguf/.test(e.message) && /b-q4_k_m\.gguf/.test(e.message));
  await assert.rejects(pull('hf.co/acme/nope-GGUF', { env }), (e) => isHearthError(e, 'not_found'));
});

test('a gated repo needs HF_TOKEN; the token is sent to the Hub and not to the CDN', async () => {
  reset();
  await assert.rejects(pull('hf.co/acme/gated-GGUF', { env: freshEnv() }), (e) =>
    isHearthError(e, 'unauthorized') && /gated/.test(e.message) && /HF_TOKEN/.test(e.message));
  await assert.rejects(pull('hf.co/acme/gated-GGUF', { env: freshEnv({ HF_TOKEN: 'hf_wrong' }) }), (e) =>
    isHearthError(e, 'unauthorized') && !e.message.includes('hf_wrong'));
  const r = await pull('hf.co/acme/gated-GGUF', { env: freshEnv({ HF_TOKEN: TOKEN }) });
  assert.equal(r.sha256, SHA);
});

test('a download cut mid-way resumes from the partial with Range', async () => {
  reset();
  const env = freshEnv();
  const cut = 400_000;
  stats.cutAfter = cut;
  await assert.rejects(pull('hf.co/acme/stories-GGUF', { env }), (e) => isHearthError(e, 'io_error') && /resume/.test(e.message));
  const partial = join(env.HEARTH_MODELS!, 'stories260K-Q4_K_M.gguf.partial');
  const kept = statSync(partial).size; // what reached the client before the cut (the socket may drop a tail)
  assert.ok(kept > 0 && kept <= cut, `partial holds ${kept} bytes`);
  stats.bytesSent = 0;
  const r = await pull('hf.co/acme/stories-GGUF', { env });
  assert.equal(r.sha256, SHA);
  assert.equal(r.fetched, MODEL.length - kept);
  assert.equal(stats.bytesSent, MODEL.length - kept);
  assert.ok(readFileSync(r.path).equals(MODEL));
});

test('a server that ignores Range restarts the download cleanly', async () => {
  reset();
  const env = freshEnv();
  writeFileSync(join(env.HEARTH_MODELS!, 'stories260K-Q4_K_M.gguf.partial'), MODEL.subarray(0, 1000));
  stats.ignoreRange = true;
  const r = await pull('hf.co/acme/stories-GGUF', { env });
  assert.equal(r.fetched, MODEL.length);
  assert.ok(readFileSync(r.path).equals(MODEL));
});

test('a body that fails its checksum is refused and removed', async () => {
  reset();
  const env = freshEnv();
  await assert.rejects(pull('hf.co/acme/broken-GGUF', { env }), (e) =>
    e instanceof DigestMismatchError && e.expected === SHA && e.actual === createHash('sha256').update(CORRUPT).digest('hex')
    && e.message.includes(e.expected) && e.message.includes(e.actual));
  assert.ok(!existsSync(join(env.HEARTH_MODELS!, 'broken-Q4_K_M.gguf.partial')));
  assert.ok(!existsSync(join(env.HEARTH_MODELS!, 'broken-Q4_K_M.gguf')));
});

test('two concurrent pulls of one file share one download', async () => {
  reset();
  stats.delayMs = 200;
  const env = freshEnv();
  const seen: [number, number] = [0, 0];
  const [a, b] = await Promise.all([
    pull('hf.co/acme/stories-GGUF', { env, onProgress: () => seen[0]++ }),
    pull('hf.co/acme/stories-GGUF', { env, onProgress: () => seen[1]++ }),
  ]);
  assert.equal(stats.bodyGets, 1);
  assert.equal(a.path, b.path);
  assert.equal(a.sha256, SHA);
  assert.ok(seen[0] > 2 && seen[1] > 2);
});

test('hearth pull prints progress lines on stderr and the path on stdout', async () => {
  reset();
  const env = freshEnv();
  const { spawn } = await import('node:child_process');
  const bin = join(import.meta.dirname, '../../bin/hearth.js');
  const child = spawn(process.execPath, [bin, 'pull', 'hf.co/acme/stories-GGUF:Q8_0', '--name', 'story'], { env: { ...process.env, ...env } });
  let out = '', err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number>((r) => child.on('close', r));
  assert.equal(code, 0, err);
  assert.equal(out.trim(), join(env.HEARTH_MODELS!, 'story.gguf'));
  assert.match(err, /^pulling manifest$/m);
  assert.match(err, /\(100%\)$/m);
  assert.match(err, /^success$/m);
  assert.ok(readFileSync(out.trim()).equals(MODEL));
  const lib = Library.open(env);
  try { assert.equal(lib.get('story')?.source, 'hf.co/acme/stories-GGUF:Q8_0'); } finally { lib.close(); }
});

test('hearth pull stopped with Ctrl-C keeps its partial; the next pull fetches about the remainder', async () => {
  reset();
  const env = freshEnv();
  const { spawn } = await import('node:child_process');
  const bin = join(import.meta.dirname, '../../bin/hearth.js');
  stats.trickle = 32 * 1024;
  const child = spawn(process.execPath, [bin, 'pull', 'hf.co/acme/stories-GGUF:Q8_0'], { env: { ...process.env, ...env } });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const partial = join(env.HEARTH_MODELS!, 'stories260K-Q8_0.gguf.partial');
  const t0 = Date.now();
  while (!(existsSync(partial) && statSync(partial).size >= 256 * 1024)) {
    assert.ok(Date.now() - t0 < 20_000, `no partial download: ${err}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.notEqual(code, 0);
  assert.match(err, /cancelled; pull again to resume from \d+ bytes/);
  const kept = statSync(partial).size;
  assert.ok(kept >= 256 * 1024 && kept < MODEL.length, `partial holds ${kept} bytes`);
  stats.trickle = 0;
  stats.bytesSent = 0;
  const r = await pull('hf.co/acme/stories-GGUF:Q8_0', { env });
  assert.equal(r.fetched, MODEL.length - kept);
  assert.equal(stats.bytesSent, MODEL.length - kept);
  assert.ok(readFileSync(r.path).equals(MODEL));
  assert.ok(!existsSync(partial));
});

test('POST /api/pull through the ollama client streams progress in Ollama\'s shape; the pulled model runs', async () => {
  reset();
  const env = freshEnv();
  const s = await startServer({ app: { pull: { env } } });
  try {
    const ollama = new Ollama({ host: s.base });
    const events: { status: string; digest?: string; total?: number; completed?: number }[] = [];
    for await (const p of await ollama.pull({ model: 'hf.co/acme/stories-GGUF:Q4_K_M', stream: true })) events.push(p);
    assert.equal(events[0]!.status, 'pulling manifest');
    assert.deepEqual(events.slice(-3).map((e) => e.status), ['verifying sha256 digest', 'writing manifest', 'success']);
    const bytes = events.filter((e) => e.digest === `sha256:${SHA}`).at(-1)!;
    assert.equal(bytes.total, MODEL.length);
    assert.equal(bytes.completed, MODEL.length);
    assert.deepEqual(await ollama.pull({ model: 'hf.co/acme/stories-GGUF:Q8_0', stream: false }), { status: 'success' });
    // A host outside the allowed ones is refused before anything is fetched.
    const gets = stats.bodyGets;
    await assert.rejects(ollama.pull({ model: `http://localhost:1/x/model.gguf`, stream: false }), /not allowed/);
    assert.equal(stats.bodyGets, gets);
    await assert.rejects(ollama.pull({ model: 'hf.co/acme/gated-GGUF', stream: true }).then(async (it) => { for await (const _ of it) { /* drain */ } }), /HF_TOKEN/);
  } finally { await s.close(); }
  // hearth serves the pulled file and generates with it.
  const served = await startServer({ path: join(env.HEARTH_MODELS!, 'stories260K-Q4_K_M.gguf') });
  try {
    const r = await new Ollama({ host: served.base }).generate({ model: 'stories260K-Q4_K_M', prompt: 'Once upon a time', raw: true, options: { num_predict: 8, temperature: 0 } });
    assert.ok(r.eval_count > 0 && (r.response ?? '').length > 0, JSON.stringify(r));
  } finally { await served.close(); }
});

test('a file larger than the free disk space is refused before any byte is fetched', async () => {
  reset();
  const env = freshEnv();
  await assert.rejects(pull('hf.co/acme/huge-GGUF', { env }), (e) => isHearthError(e, 'io_error') && /not enough disk space/.test(e.message));
  assert.equal(stats.bodyGets, 0);
  assert.ok(!existsSync(join(env.HEARTH_MODELS!, 'huge-Q4_K_M.gguf.partial')));
});

test('with API keys, /api/pull needs the models:write scope', async () => {
  const env = freshEnv();
  const store = openStore(join(env.HEARTH_MODELS!, 'hearth.db'));
  const s = await startServer({ app: { pull: { env }, security: { keys: store.keys, usage: store.usage } } });
  try {
    const reader = store.keys.create({ name: 'reader' }).secret;
    const writer = store.keys.create({ name: 'writer', scopes: ['models:write'] }).secret;
    await assert.rejects(new Ollama({ host: s.base, headers: { authorization: `Bearer ${reader}` } }).pull({ model: 'hf.co/acme/stories-GGUF', stream: false }), /models:write/);
    assert.ok(!existsSync(join(env.HEARTH_MODELS!, 'stories260K-Q4_K_M.gguf')));
    const r = await new Ollama({ host: s.base, headers: { authorization: `Bearer ${writer}` } }).pull({ model: 'hf.co/acme/stories-GGUF', stream: false });
    assert.equal(r.status, 'success');
    assert.ok(readFileSync(join(env.HEARTH_MODELS!, 'stories260K-Q4_K_M.gguf')).equals(MODEL));
  } finally { await s.close(); store.close(); }
});

test('registry names: ollama.com/NS/NAME:TAG, registry.ollama.ai/…, bare NAME[:TAG]; local and other sources keep their meaning', () => {
  const env = { HEARTH_OLLAMA_REGISTRY: 'https://reg.example' };
  const ref = (ns: string, name: string, tag: string) => ({ base: 'https://reg.example', namespace: ns, name, tag });
  assert.deepEqual(parseRegistryRef('ollama.com/library/llama3.2:1b', env), ref('library', 'llama3.2', '1b'));
  assert.deepEqual(parseRegistryRef('registry.ollama.ai/library/qwen2.5', env), ref('library', 'qwen2.5', 'latest'));
  assert.deepEqual(parseRegistryRef('https://ollama.com/someone/tiny-model:Q4_K_M', env), ref('someone', 'tiny-model', 'Q4_K_M'));
  assert.deepEqual(parseRegistryRef('reg.example/library/x:y', env), ref('library', 'x', 'y'));
  assert.deepEqual(parseRegistryRef('gemma3:270m', env), ref('library', 'gemma3', '270m'));
  assert.deepEqual(parseRegistryRef('stories', env), ref('library', 'stories', 'latest'));
  assert.equal(parseRegistryRef('stories', {})?.base, 'https://registry.ollama.ai');
  for (const s of ['model.gguf', 'model.gguf:x', './model', '/abs/model', 'Stories', 'a/b', 'hf.co/acme/stories-GGUF', 'https://x.example/m.gguf', 'https://reg.example/a/b.gguf', 'x:a:b']) {
    assert.equal(parseRegistryRef(s, env), undefined, s);
  }
  assert.throws(() => parseRegistryRef('ollama.com/library', env), (e) => isHearthError(e, 'invalid_argument') && /NAMESPACE\/NAME/.test(e.message));
});

function checkRegistryPull(r: PullResult, dir: string, file: string, name: string | undefined): void {
  assert.equal(r.path, join(dir, file));
  assert.equal(r.sha256, SHA);
  assert.equal(r.size, MODEL.length);
  assert.equal(r.name, name);
  assert.ok(readFileSync(r.path).equals(MODEL));
  assert.ok(!existsSync(`${r.path}.partial`));
}

test('a registry model pulls by ollama.com/library/NAME:TAG, bare NAME:TAG and bare NAME (latest), with its preset', async () => {
  reset();
  const env = freshEnv();
  const dir = env.HEARTH_MODELS!;
  const preset = { from: 'stories:260k', system: SYSTEM, parameters: { temperature: 0.7, stop: ['<|end|>'] } };
  const a = await pull('ollama.com/library/stories:260k', { env });
  checkRegistryPull(a, dir, 'stories-260k.gguf', 'stories:260k');
  assert.equal(a.source, 'ollama.com/library/stories:260k');
  // tfs_z and an option hearth does not know are dropped from the preset, not fatal.
  assert.deepEqual(a.preset, preset);
  assert.equal(stats.bodyGets, 1);
  const b = await pull('stories:260k', { env });
  checkRegistryPull(b, dir, 'stories-260k.gguf', 'stories:260k');
  assert.equal(b.fetched, 0, 'the same tag again is already in place');
  const c = await pull('stories', { env });
  checkRegistryPull(c, dir, 'stories-latest.gguf', 'stories:latest');
  assert.deepEqual(c.preset, { ...preset, from: 'stories:latest' });
  const d = await pull('ollama.com/acme/stories:tiny', { env });
  checkRegistryPull(d, dir, 'acme-stories-tiny.gguf', 'acme/stories:tiny');
  assert.equal(d.preset, undefined);
  const e = await pull('registry.ollama.ai/library/stories:260k', { env, name: 'tiny' });
  checkRegistryPull(e, dir, 'tiny.gguf', undefined);
});

test('registry progress has Ollama\'s shape: pulling manifest, pulling <12 hex> per layer, verifying, writing manifest, success', async () => {
  reset();
  const events: PullProgress[] = [];
  await pull('stories:260k', { env: freshEnv(), onProgress: (p) => events.push(p) });
  const statuses = [...new Set(events.map((e) => e.status))];
  const short = (mediaType: string) => `pulling ${sha256(storyLayers.find((l) => l.mediaType === mediaType)!.bytes).slice(0, 12)}`;
  assert.deepEqual(statuses, ['pulling manifest', `pulling ${SHA.slice(0, 12)}`, short('application/vnd.ollama.image.system'),
    short('application/vnd.ollama.image.params'), 'verifying sha256 digest', 'writing manifest', 'success']);
  for (const e of events.filter((x) => x.status.startsWith('pulling ') && x.status !== 'pulling manifest')) {
    assert.match(e.digest!, /^sha256:[0-9a-f]{64}$/);
    assert.equal(e.status, `pulling ${e.digest!.slice(7, 19)}`);
    assert.ok(typeof e.total === 'number' && typeof e.completed === 'number' && e.completed <= e.total);
  }
  const last = events.filter((e) => e.digest === `sha256:${SHA}`).at(-1)!;
  assert.deepEqual([last.completed, last.total], [MODEL.length, MODEL.length]);
});

test('registry errors: an unknown tag is not_found, a manifest without weights is refused', async () => {
  const env = freshEnv();
  await assert.rejects(pull('stories:nope', { env }), (e) => isHearthError(e, 'not_found') && /model stories:nope not found in the registry/.test(e.message));
  await assert.rejects(pull('nosuchmodel', { env }), (e) => isHearthError(e, 'not_found') && /nosuchmodel:latest/.test(e.message));
  await assert.rejects(pull('noweights', { env }), (e) => isHearthError(e, 'invalid_argument') && /no model weights layer/.test(e.message) && /template/.test(e.message));
  await assert.rejects(pull('Not-A-Name', { env }), (e) => isHearthError(e, 'invalid_argument') && /not a source/.test(e.message));
});

test('a registry blob cut mid-way resumes with Range through the redirect', async () => {
  reset();
  const env = freshEnv();
  stats.cutAfter = 400_000;
  await assert.rejects(pull('stories:260k', { env }), (e) => isHearthError(e, 'io_error') && /resume/.test(e.message));
  const kept = statSync(join(env.HEARTH_MODELS!, 'stories-260k.gguf.partial')).size;
  assert.ok(kept > 0 && kept <= 400_000, `partial holds ${kept} bytes`);
  stats.bytesSent = 0;
  const r = await pull('stories:260k', { env });
  assert.equal(r.fetched, MODEL.length - kept);
  assert.equal(stats.bytesSent, MODEL.length - kept);
  assert.ok(readFileSync(r.path).equals(MODEL));
});

test('a registry blob that fails its digest is refused and the partial removed', async () => {
  reset();
  const env = freshEnv();
  await assert.rejects(pull('broken', { env }), (e) => e instanceof DigestMismatchError && e.expected === SHA && e.actual === sha256(CORRUPT));
  assert.ok(!existsSync(join(env.HEARTH_MODELS!, 'broken-latest.gguf.partial')));
  assert.ok(!existsSync(join(env.HEARTH_MODELS!, 'broken-latest.gguf')));
});

test('a split Hub GGUF pulls whole by quant tag or by name: every part verified, all paths returned', async () => {
  reset();
  const env = freshEnv();
  const dir = env.HEARTH_MODELS!;
  const names = ['stories260K-Q4_K_M-00001-of-00002.gguf', 'stories260K-Q4_K_M-00002-of-00002.gguf'];
  const events: PullProgress[] = [];
  const r = await pull('hf.co/acme/split-GGUF', { env, onProgress: (p) => events.push(p) });
  assert.equal(r.path, join(dir, names[0]!));
  assert.deepEqual(r.parts, names.map((n) => join(dir, n)));
  assert.deepEqual(modelParts(r.path), r.parts);
  assert.ok(readFileSync(r.parts![0]!).equals(PART1) && readFileSync(r.parts![1]!).equals(PART2));
  assert.equal(r.sha256, sha256(PART1));
  assert.deepEqual([r.size, r.fetched, stats.bodyGets], [MODEL.length, MODEL.length, 2]);
  for (const part of [PART1, PART2]) assert.ok(events.some((e) => e.digest === `sha256:${sha256(part)}` && e.completed === part.length));
  assert.deepEqual(events.slice(-3).map((e) => e.status), ['verifying sha256 digest', 'writing manifest', 'success']);
  // By a part's name, under --name: the parts keep their -0000i-of-0000N.
  const n = await pull('hf.co/acme/split-GGUF/stories260K-Q4_K_M-00002-of-00002.gguf', { env, name: 'tiny' });
  assert.deepEqual(n.parts, [join(dir, 'tiny-00001-of-00002.gguf'), join(dir, 'tiny-00002-of-00002.gguf')]);
  await assert.rejects(pull('hf.co/acme/halfsplit-GGUF', { env }), (e) => isHearthError(e, 'not_found') && /lacks stories260K-Q4_K_M-00001-of-00002\.gguf/.test(e.message));
  // A split quant in a folder of its own is found too; its parts land in the models folder by their file names.
  const f = await pull('hf.co/acme/folders-GGUF:Q4_K_M', { env: freshEnv() });
  assert.ok(Buffer.concat(f.parts!.map((p) => readFileSync(p))).equals(MODEL));
  assert.deepEqual(f.parts!.map((p) => basename(p)), names);
});

test('a split part cut mid-way resumes; the parts are renamed only when all are verified', async () => {
  reset();
  const env = freshEnv();
  const dir = env.HEARTH_MODELS!;
  stats.cutAfter = 100_000;
  await assert.rejects(pull('hf.co/acme/split-GGUF', { env }), (e) => isHearthError(e, 'io_error'));
  assert.ok(!existsSync(join(dir, 'stories260K-Q4_K_M-00001-of-00002.gguf')));
  const kept = statSync(join(dir, 'stories260K-Q4_K_M-00001-of-00002.gguf.partial')).size;
  stats.bytesSent = 0;
  const r = await pull('hf.co/acme/split-GGUF', { env });
  assert.equal(r.fetched, MODEL.length - kept);
  assert.equal(stats.bytesSent, MODEL.length - kept);
  assert.ok(Buffer.concat(r.parts!.map((p) => readFileSync(p))).equals(MODEL));
});

test('POST /api/pull of a registry model through the ollama client streams its layers; onPulled records it before success', async () => {
  reset();
  const env = freshEnv();
  const lib = Library.open(env);
  let recorded = false;
  const s = await startServer({ app: { pull: { env, onPulled: (r, source) => { lib.record({ ...r, source: r.source ?? source }); recorded = true; } } } });
  try {
    const ollama = new Ollama({ host: s.base });
    const events: { status: string; digest?: string; total?: number; completed?: number }[] = [];
    for await (const p of await ollama.pull({ model: 'stories:260k', stream: true })) {
      if (p.status === 'success') assert.ok(recorded, 'onPulled ran before the success line');
      events.push(p);
    }
    assert.equal(events[0]!.status, 'pulling manifest');
    assert.deepEqual(events.slice(-3).map((e) => e.status), ['verifying sha256 digest', 'writing manifest', 'success']);
    const bytes = events.filter((e) => e.digest === `sha256:${SHA}`).at(-1)!;
    assert.deepEqual([bytes.status, bytes.total, bytes.completed], [`pulling ${SHA.slice(0, 12)}`, MODEL.length, MODEL.length]);
    const m = lib.get('stories:260k')!;
    assert.equal(m.path, join(env.HEARTH_MODELS!, 'stories-260k.gguf'));
    assert.equal(m.source, 'ollama.com/library/stories:260k');
    assert.equal(m.preset?.system, SYSTEM);
    recorded = false;
    assert.deepEqual(await ollama.pull({ model: 'ollama.com/acme/stories:tiny', stream: false }), { status: 'success' });
    assert.ok(recorded && lib.get('acme/stories:tiny'));
    await assert.rejects(ollama.pull({ model: 'stories:nope', stream: false }), /not found in the registry/);
  } finally { await s.close(); lib.close(); }
});

test('hearth pull NAME:TAG records the registry model under NAME:TAG, with its source and preset', async () => {
  reset();
  const env = freshEnv();
  const { spawn } = await import('node:child_process');
  const bin = join(import.meta.dirname, '../../bin/hearth.js');
  const child = spawn(process.execPath, [bin, 'pull', 'stories:260k', '--quiet'], { env: { ...process.env, ...env } });
  let out = '', err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number>((r) => child.on('close', r));
  assert.equal(code, 0, err);
  assert.equal(out.trim(), join(env.HEARTH_MODELS!, 'stories-260k.gguf'));
  const lib = Library.open(env);
  try {
    const m = lib.get('stories:260k')!;
    assert.equal(m.path, out.trim());
    assert.equal(m.source, 'ollama.com/library/stories:260k');
    assert.deepEqual(m.preset, { from: 'stories:260k', system: SYSTEM, parameters: { temperature: 0.7, stop: ['<|end|>'] } });
    assert.deepEqual(lib.list().map((x) => x.name), ['stories:260k'], 'listed once, not also under its file name');
  } finally { lib.close(); }
});
