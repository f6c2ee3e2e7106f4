// The knowledge base through the official openai client on loopback: files.create, vectorStores.create (a
// synthetic bert embedder, test/fixtures/synthetic-families.ts), vectorStores.files.createAndPoll and
// vectorStores.search over passages of ../shared/text/war-and-peace.txt. Random weights make semantic ranking
// meaningless, so the checks are properties that hold anyway: a keyword query finds its passage at rank 1; the
// vector search is exactly the brute-force top k over the model's own embeddings (from /v1/embeddings); hybrid
// is the reciprocal rank fusion of the two lists; filters; re-ingest is a no-op; failures are per file (a 200 MB
// file meets the ingest's size cap).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { syntheticFamilyPath } from '../fixtures/synthetic-families.ts';
import { startServer, type TestServer } from './harness.ts';
import { tempDir } from '../security/harness.ts';
import { sharedPath } from '../shared.ts';
import { Database } from '../../src/store/database.ts';
import { KnowledgeBase, reciprocalRankFusion } from '../../src/knowledge/knowledge-base.ts';
import { modelEmbedders } from '../../src/server/routes/knowledge.ts';
import { ExactVectorIndex, loadSqliteVec, SqliteVecIndex } from '../../src/knowledge/vector-index.ts';
import { ModelManager } from '../../src/provider/model-manager.ts';

const BERT = { family: 'bert' as const, nEmbd: 128, nHead: 4, nFF: 256, nLayer: 2, nCtxTrain: 512 };
const MODEL = 'embed-tiny';

let srv: TestServer;
let db: Database;
let kb: KnowledgeBase;
let client: OpenAI;

before(async () => {
  db = Database.open(join(tempDir('hearth-kb-'), 'hearth.db'));
  const models: { m?: ModelManager } = {};
  kb = new KnowledgeBase(db, { embedders: (name) => modelEmbedders(models.m!)(name) });
  srv = await startServer({ path: syntheticFamilyPath(BERT), alias: MODEL, nCtx: 512, parallel: 2, app: { knowledge: kb } });
  models.m = srv.models;
  client = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'none', maxRetries: 0 });
});
after(async () => {
  await kb?.close();
  await srv?.close();
  db?.close();
});

/** Eight passages of about 3 kB from across the book. */
function passages(): string[] {
  const book = readFileSync(sharedPath('text', 'war-and-peace.txt'), 'utf8');
  return Array.from({ length: 8 }, (_, i) => {
    const at = book.indexOf('\n', Math.floor((book.length * (i + 0.5)) / 8));
    return book.slice(at + 1, at + 1 + 3000);
  });
}

const CHUNKING = { type: 'static' as const, static: { max_chunk_size_tokens: 150, chunk_overlap_tokens: 40 } };

async function upload(name: string, bytes: Buffer | string): Promise<string> {
  const f = await client.files.create({ file: await toFile(Buffer.from(bytes), name), purpose: 'assistants' });
  return f.id;
}

async function newStore(name: string): Promise<string> {
  const vs = await client.vectorStores.create({ name, embedding_model: MODEL } as OpenAI.VectorStores.VectorStoreCreateParams);
  return vs.id;
}

const key = (h: { file_id: string; content: { text: string }[] }) => `${h.file_id}\n${h.content[0].text}`;

async function search(store: string, query: string, extra: Record<string, unknown> = {}) {
  const page = await client.vectorStores.search(store, { query, max_num_results: 50, ...extra } as OpenAI.VectorStores.VectorStoreSearchParams);
  return page.data;
}

test('files: create, retrieve, list, content, delete', async () => {
  const id = await upload('note.md', '# Hearth\n\nA knowledge base.');
  const f = await client.files.retrieve(id);
  assert.equal(f.filename, 'note.md');
  assert.equal(f.bytes, 27);
  assert.equal(f.purpose, 'assistants');
  assert.ok((await client.files.list()).data.some((x) => x.id === id));
  assert.equal(await (await client.files.content(id)).text(), '# Hearth\n\nA knowledge base.');
  assert.equal((await client.files.delete(id)).deleted, true);
  await assert.rejects(client.files.retrieve(id), (e: InstanceType<typeof OpenAI.NotFoundError>) => e.status === 404);
});

test('war and peace: keyword rank 1, exact vector top k, hybrid = RRF, filters, re-ingest no-op', async () => {
  const store = await newStore('war-and-peace');
  const texts = passages();
  const ids: string[] = [];
  for (const [i, t] of texts.entries()) {
    const id = await upload(`part-${i}.txt`, t);
    ids.push(id);
    const vf = await client.vectorStores.files.createAndPoll(store, { file_id: id, attributes: { part: i, half: i < 4 ? 'first' : 'second' }, chunking_strategy: CHUNKING }, { pollIntervalMs: 20 });
    assert.equal(vf.status, 'completed', JSON.stringify(vf.last_error));
  }
  const vs = await client.vectorStores.retrieve(store);
  assert.equal(vs.file_counts.completed, 8);
  const chunks = db.db.prepare('SELECT file_id, text FROM kb_chunks WHERE store_id = ? ORDER BY id').all(store) as { file_id: string; text: string }[];
  assert.ok(chunks.length >= 40, `${chunks.length} chunks`);

  // Keyword: twelve words from the middle of a chunk find a chunk that holds them at rank 1.
  for (const c of chunks.filter((_, i) => i % 7 === 3)) {
    const words = c.text.split(/\s+/).filter(Boolean);
    const phrase = words.slice(Math.floor(words.length / 2) - 6, Math.floor(words.length / 2) + 6).join(' ');
    const [top] = await search(store, phrase, { search_mode: 'keyword', max_num_results: 1 });
    assert.ok(top.content[0].text.replace(/\s+/g, " ").includes(phrase), `rank 1 for "${phrase}" holds it: ${JSON.stringify(top.content[0].text)}`);
  }

  // Vector: the brute-force top 10 by cosine over the model's own embeddings.
  const query = 'Pierre walked across the field toward the battery';
  const inputs = [query, ...chunks.map((c) => c.text)];
  const emb: number[][] = [];
  for (let i = 0; i < inputs.length; i += 8) {
    const r = await client.embeddings.create({ model: MODEL, input: inputs.slice(i, i + 8), encoding_format: 'float' });
    emb.push(...r.data.map((d) => d.embedding));
  }
  const unit = (v: number[]) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
  const q = unit(emb[0]);
  const scored = chunks.map((c, i) => ({ k: `${c.file_id}\n${c.text}`, s: unit(emb[i + 1]).reduce((a, x, d) => a + x * q[d], 0) }))
    .sort((a, b) => b.s - a.s);
  const vector = await search(store, query, { search_mode: 'vector' });
  assert.deepEqual(vector.slice(0, 10).map(key), scored.slice(0, 10).map((x) => x.k));
  for (const [i, h] of vector.slice(0, 10).entries()) assert.ok(Math.abs(h.score - scored[i].s) < 1e-4);

  // sqlite-vec (where its optional package loads) ranks the same rows the same way as the TypeScript scan.
  const version = await loadSqliteVec(db.db);
  if (!(version instanceof Error)) {
    const qv = Float32Array.from(emb[0]);
    const viaVec = new SqliteVecIndex(db.db).search(store, qv, 20);
    const exact = new ExactVectorIndex(db.db).search(store, qv, 20);
    assert.deepEqual(viaVec.map((h) => h.id), exact.map((h) => h.id));
    for (const [i, h] of viaVec.entries()) assert.ok(Math.abs(h.score - exact[i].score) < 1e-5);
    const odd = (f: string) => ids.indexOf(f) % 2 === 1;
    assert.deepEqual(new SqliteVecIndex(db.db).search(store, qv, 10, odd).map((h) => h.id), new ExactVectorIndex(db.db).search(store, qv, 10, odd).map((h) => h.id));
  } else {
    process.stderr.write(`sqlite-vec not loaded, its agreement not checked: ${version.message}\n`);
  }

  // Hybrid: reciprocal rank fusion of the keyword and vector lists.
  const keyword = await search(store, query, { search_mode: 'keyword' });
  const all = new Map<string, number>();
  for (const h of [...keyword, ...vector]) if (!all.has(key(h))) all.set(key(h), all.size);
  const byId = [...all.keys()];
  const fused = reciprocalRankFusion([keyword.map((h) => all.get(key(h))!), vector.map((h) => all.get(key(h))!)]).slice(0, 10).map((x) => byId[x.id]);
  const hybrid = await search(store, query, { max_num_results: 10 });
  assert.deepEqual(hybrid.map(key), fused);

  // Filters: a comparison and a compound.
  const eq = await search(store, query, { filters: { type: 'eq', key: 'part', value: 3 } });
  assert.ok(eq.length > 0 && eq.every((h) => h.attributes!.part === 3));
  const or = await search(store, query, { filters: { type: 'or', filters: [{ type: 'eq', key: 'half', value: 'second' }, { type: 'lt', key: 'part', value: 1 }] } });
  assert.ok(or.length > 0 && or.every((h) => h.attributes!.half === 'second' || h.attributes!.part === 0));
  assert.ok(or.some((h) => h.attributes!.part === 0));

  // Re-ingest: the same file again, and the same bytes as a new file: no new embedding, the same chunks.
  const count = () => (db.db.prepare('SELECT count(*) AS n FROM kb_chunks WHERE store_id = ?').get(store) as { n: number }).n;
  const before = count();
  const again = await client.vectorStores.files.createAndPoll(store, { file_id: ids[0], chunking_strategy: CHUNKING }, { pollIntervalMs: 20 });
  assert.equal(again.status, 'completed');
  assert.equal(count(), before);
  const copy = await upload('copy.txt', texts[0]);
  const perFile = (id: string) => (db.db.prepare('SELECT count(*) AS n FROM kb_chunks WHERE store_id = ? AND file_id = ?').get(store, id) as { n: number }).n;
  const vf = await client.vectorStores.files.createAndPoll(store, { file_id: copy, chunking_strategy: CHUNKING }, { pollIntervalMs: 20 });
  assert.equal(vf.status, 'completed');
  assert.equal(perFile(copy), perFile(ids[0]));
});

/** A one-page PDF whose text layer is `text` (Helvetica), written out by hand with its cross-reference table. */
function pdf(text: string): Buffer {
  const stream = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
  const objs = ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'];
  let out = '%PDF-1.4\n';
  const at: number[] = [];
  objs.forEach((o, i) => { at.push(out.length); out += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${at.map((a) => `${String(a).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

test('a PDF is read through its text layer', async () => {
  const store = await newStore('pdf');
  const vf = await client.vectorStores.files.createAndPoll(store, { file_id: await upload('fire.pdf', pdf('The hearth keeps the fire')) }, { pollIntervalMs: 20 });
  assert.equal(vf.status, 'completed', JSON.stringify(vf.last_error));
  const [hit] = await search(store, 'fire', { search_mode: 'keyword' });
  assert.equal(hit.content[0].text, 'The hearth keeps the fire');
  assert.equal(hit.filename, 'fire.pdf');
});

test('an empty file, a binary file, a corrupt PDF and a 200 MB file fail with a reason; HTML is stripped; the store goes on', async () => {
  const store = await newStore('failures');
  const cases: [string, Buffer, string][] = [
    ['empty.txt', Buffer.alloc(0), 'the file is empty'],
    ['blob.bin', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2, 3, 0, 255]), 'binary'],
    ['broken.pdf', Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf\n'), 'PDF'],
  ];
  for (const [name, bytes, reason] of cases) {
    const vf = await client.vectorStores.files.createAndPoll(store, { file_id: await upload(name, bytes) }, { pollIntervalMs: 20 });
    assert.equal(vf.status, 'failed', name);
    assert.ok(vf.last_error && vf.last_error.message.includes(reason), `${name}: ${JSON.stringify(vf.last_error)}`);
  }
  // A 200 MB file: uploaded (within the 512 MB upload limit), then refused by the ingest's size cap at once.
  const big = Buffer.alloc(200 * 1000 * 1000, 'the hearth keeps the fire. ');
  const bigId = await upload('huge.txt', big);
  const t0 = Date.now();
  const bigVf = await client.vectorStores.files.createAndPoll(store, { file_id: bigId }, { pollIntervalMs: 20 });
  assert.equal(bigVf.status, 'failed');
  assert.equal(bigVf.last_error?.code, 'invalid_file');
  assert.match(bigVf.last_error!.message, /the file is 190\.7 MiB: files over 64\.0 MiB are not ingested/);
  assert.ok(Date.now() - t0 < 10_000, `refused in ${Date.now() - t0} ms`);
  assert.equal((await client.files.retrieve(bigId)).bytes, big.length);
  const html = '<html><head><style>p{color:red}</style><script>var secret=1</script></head><body><p>The hearth &amp; the home</p></body></html>';
  const ok = await client.vectorStores.files.createAndPoll(store, { file_id: await upload('page.html', html) }, { pollIntervalMs: 20 });
  assert.equal(ok.status, 'completed');
  const [hit] = await search(store, 'hearth home', { search_mode: 'keyword' });
  assert.equal(hit.content[0].text, 'The hearth & the home');
  const vs = await client.vectorStores.retrieve(store);
  assert.deepEqual([vs.file_counts.failed, vs.file_counts.completed], [4, 1]);
});

test('a vector store without an embedding model, or with one that does not embed, is a 400 naming the field', async () => {
  await assert.rejects(client.vectorStores.create({ name: 'x' }),
    (e: InstanceType<typeof OpenAI.BadRequestError>) => e.status === 400 && /embedding_model/.test(e.message));
  await assert.rejects(client.vectorStores.create({ name: 'x', embedding_model: 'nope' } as OpenAI.VectorStores.VectorStoreCreateParams),
    (e: InstanceType<typeof OpenAI.NotFoundError>) => e.status === 404);
});
