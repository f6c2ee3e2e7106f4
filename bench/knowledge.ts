// The knowledge base: ingest throughput (extract → chunk → embed → commit, embedding included) with a
// bge-small-shaped bert (synthetic seeded weights, test/fixtures/synthetic-families.ts) on the cpu backend, and
// search latency at 10k and 100k chunks for keyword (FTS5 BM25), vector (exact cosine, 384 dims: the TypeScript
// scan and sqlite-vec's vec_distance_cosine) and hybrid (both lists, fused by reciprocal rank). For the latency
// corpus the chunk texts are windows of
// ../shared/text/war-and-peace.txt and the vectors are seeded random unit vectors written straight into the
// table (embedding 100k chunks with a 12-layer model would take hours here); the query's own embedding is left
// out of those timings (it is one forward pass of the model, measured in the ingest row per chunk).
// Usage: npm run bench:knowledge [-- --sizes 10000,100000 --queries 200 --ingest-kb 64 --no-write | --latency-only]

import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, sharedPath } from '../test/shared.ts';
import { tempDir } from '../test/security/harness.ts';
import { syntheticFamilyPath } from '../test/fixtures/synthetic-families.ts';
import { SeededRandom } from '../test/fixtures/seeded-random.ts';
import { Database } from '../src/store/database.ts';
import { KnowledgeBase } from '../src/knowledge/knowledge-base.ts';
import { ExactVectorIndex, loadSqliteVec, normalize, SqliteVecIndex, vectorBlob } from '../src/knowledge/vector-index.ts';
import { loadLanceDb, openLanceDbIndex, LanceDbIndex } from '../src/knowledge/lancedb-index.ts';
import type { VectorIndex } from '../src/knowledge/types.ts';
import type { Embedder } from '../src/knowledge/types.ts';
import { EngineHost } from '../src/engine/worker/engine-host.ts';
import { localProvider } from '../src/provider/local-provider.ts';
import { providerEmbedder } from '../src/server/routes/knowledge.ts';
import { machineDescription, writeSection } from './benchmarks-md.ts';

const HEADING = '## Knowledge base';
const loads: number[] = [loadavg()[0]];
const loadAverage = () => { loads.push(loadavg()[0]); return `${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`; };
const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    queries: { type: 'string', default: '200' },
    'ingest-kb': { type: 'string', default: '64' },
    'no-write': { type: 'boolean', default: false },
    'latency-only': { type: 'boolean', default: false },
    indexes: { type: 'string', default: 'exact,sqlite-vec,lancedb' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const nQueries = Number(values.queries);
const book = readFileSync(sharedPath('text', 'war-and-peace.txt'), 'utf8');
const DIMS = 384;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function ingest(): Promise<string> {
  const engine = new EngineHost();
  const model = syntheticFamilyPath({ family: 'bert' });
  const provider = await localProvider({ path: model, load: { nCtx: 512, threads: 2 } }, { scheduler: { parallel: 4, queueLimit: 64 }, engine })();
  const embedder = providerEmbedder(provider);
  const db = Database.open(join(tempDir('hearth-bench-kb-'), 'hearth.db'));
  const kb = new KnowledgeBase(db, { embedders: async () => ({ embedder, release: () => {} }) });
  const bytes = Buffer.from(book.slice(200_000, 200_000 + Number(values['ingest-kb']) * 1024));
  const store = await kb.createStore({ name: 'bench', model: 'bge-small-shaped' });
  const file = kb.createFile('war-and-peace.txt', 'assistants', bytes);
  const rows: string[] = [];
  for (const [maxTokens, overlap] of [[800, 400], [200, 50]] as const) {
    const t0 = performance.now();
    kb.detach(store.id, file.id);
    kb.attach(store.id, file.id, { chunking: { maxTokens, overlap } });
    await kb.idle();
    const s = (performance.now() - t0) / 1000;
    const f = kb.storeFile(store.id, file.id)!;
    if (f.status !== 'completed') throw new Error(JSON.stringify(f.lastError));
    const eff = Math.min(maxTokens, embedder.maxTokens);
    rows.push(`| ${eff} / ${Math.min(overlap, Math.floor(embedder.maxTokens / 2))} | ${(bytes.length / 1024).toFixed(0)} KiB | ${f.chunks} | ${s.toFixed(1)} | ${(bytes.length / 1e6 / s).toFixed(4)} | ${(f.chunks / s).toFixed(2)} |`);
    process.stdout.write(`${rows[rows.length - 1]}\n`);
  }
  await kb.close();
  provider.close();
  await engine.close();
  db.close();
  return ['| chunk / overlap (tokens) | text | chunks | seconds | MB/s | chunks/s |', '| ---: | ---: | ---: | ---: | ---: | ---: |', ...rows].join('\n');
}

type IndexName = 'exact' | 'sqlite-vec' | 'lancedb';

async function latency(n: number, index: IndexName): Promise<string[]> {
  const rnd = new SeededRandom(7);
  const vec = () => normalize(rnd.fillNormal(new Float32Array(DIMS), 1));
  const fixed: Embedder = { model: 'random', maxTokens: 510, countTokens: (s) => s.length, embed: async (t) => t.map(() => vec()) };
  const db = Database.open(join(tempDir('hearth-bench-kb-'), 'hearth.db'));
  let vi: VectorIndex;
  if (index === 'sqlite-vec') {
    const v = await loadSqliteVec(db.db);
    if (v instanceof Error) throw v;
    vi = new SqliteVecIndex(db.db);
  } else if (index === 'lancedb') {
    vi = await openLanceDbIndex(db.db, tempDir('hearth-bench-lance-'));
  } else vi = new ExactVectorIndex(db.db);
  const embedders = async () => ({ embedder: fixed, release: () => {} });
  const kb = new KnowledgeBase(db, { embedders, index: vi });
  // The same store searched without the keyword rules (every term in both passes, every match ranked): the "before".
  const unruled = new KnowledgeBase(db, { embedders, index: new ExactVectorIndex(db.db), commonTermShare: Infinity, keywordCandidateCap: Infinity });
  const store = await kb.createStore({ name: 'latency', model: 'random' });
  const file = kb.createFile('corpus.txt', 'assistants', Buffer.from('x'));
  const words = book.split(/\s+/).filter(Boolean);
  const t0 = performance.now();
  const insert = db.db.prepare('INSERT INTO kb_chunks (store_id, file_id, seq, text, embedding) VALUES (?, ?, ?, ?, ?)');
  for (let from = 0; from < n; from += 5000) {
    db.transaction(() => {
      for (let i = from; i < Math.min(n, from + 5000); i++) {
        const at = (i * 97) % (words.length - 120);
        insert.run(store.id, file.id, i, words.slice(at, at + 120).join(' '), vectorBlob(vec()));
      }
    });
  }
  db.db.prepare(`INSERT INTO kb_store_files (store_id, file_id, status, attributes, max_tokens, overlap, sha256, chunks, created_at)
    VALUES (?, ?, 'completed', '{}', 800, 400, '', ?, 0)`).run(store.id, file.id, n);
  let extra = '';
  if (vi instanceof LanceDbIndex) {
    const t1 = performance.now();
    vi.invalidate(store.id);
    const info = await vi.indexInfo(store.id);
    extra = `, LanceDB table and IVF index (${info.partitions} partitions) in ${((performance.now() - t1) / 1000).toFixed(1)} s`;
  }
  const loadS = (performance.now() - t0) / 1000;
  const rows: string[] = [];
  const runs: [string, KnowledgeBase, 'keyword' | 'vector' | 'hybrid'][] = index === 'exact'
    ? [['keyword, no rules', unruled, 'keyword'], ['keyword', kb, 'keyword'], ['vector', kb, 'vector'], ['hybrid', kb, 'hybrid']]
    : [['vector', kb, 'vector'], ['hybrid', kb, 'hybrid']];
  const qrnd = new SeededRandom(13);
  const qs = Array.from({ length: nQueries }, () => { const at = qrnd.int(words.length - 3); return words.slice(at, at + 3).join(' '); });
  for (const [label, k, mode] of runs) {
    await k.search(store.id, { query: 'warm up', mode }); // the first vector search reads the matrix
    const ms: number[] = [];
    for (const query of qs) {
      const t = performance.now();
      await k.search(store.id, { query, mode, maxResults: 10 });
      ms.push(performance.now() - t);
    }
    loads.push(loadavg()[0]);
    rows.push(`| ${n.toLocaleString('en')} | ${index} | ${label} | ${pct(ms, 50).toFixed(1)} | ${pct(ms, 99).toFixed(1)} |`);
    process.stdout.write(`${rows[rows.length - 1]}  (corpus written in ${loadS.toFixed(1)} s${extra})\n`);
  }
  await kb.close();
  await unruled.close();
  db.close();
  return rows;
}

/** The ingest table BENCHMARKS.md has now (kept by a --latency-only run). */
function ingestTableNow(): string {
  const md = readFileSync(join(REPO_ROOT, 'BENCHMARKS.md'), 'utf8');
  const at = md.indexOf('| chunk / overlap (tokens)', md.indexOf(HEADING));
  if (at < 0) return '';
  const end = md.indexOf('\n\n', at);
  return md.slice(at, end < 0 ? undefined : end);
}
const ingestTable = values['latency-only'] ? ingestTableNow() : await ingest();
const latencyRows: string[] = [];
const indexes = values.indexes.split(',') as IndexName[];
const lance = await loadLanceDb();
for (const n of sizes) {
  for (const ix of indexes) latencyRows.push(...(await latency(n, ix)));
}
const body = [
  `${machineDescription()}. \`npm run bench:knowledge\` (bench/knowledge.ts).`,
  '',
  'Ingest, embedding included: one text file of War and Peace through extract → chunk (the model\'s WordPiece tokens) → embed ' +
    '(bge-small-shaped bert, 384 × 12 layers, F32, cpu backend, 2 threads, 4 slots) → commit. OpenAI\'s default 800 / 400 ' +
    'is capped at the model\'s 512 positions (510 / 255). Embedding is nearly all of the time.',
  '',
  ingestTable,
  '',
  `Search latency, ${nQueries} queries of three consecutive words of the book each, top 10, the query embedding left ` +
    'out (seeded random 384-d unit vectors stand in for the chunks\' embeddings; chunk texts are 120-word windows of ' +
    'the book). keyword: FTS5 BM25 (all words, then any), 50 deep, ranked inside FTS5 and only its top rows joined to ' +
    'the chunks table. "keyword, no rules" is the same search with every term in both passes and every match ranked; ' +
    '"keyword" leaves a term found in more than 20 % of the chunks out of the any-word pass and ranks at most the ' +
    'first 5,000 matches of a pass whose document counts ' +
    'say it matches more (an all-words pass of common words). vector, 50 deep: `exact` is the cosine scan in ' +
    'TypeScript over the store\'s vectors held in one Float32Array, `sqlite-vec` is vec_distance_cosine over the ' +
    `table's blobs (sqlite-vec 0.1.9), \`lancedb\` is LanceDB ${lance instanceof Error ? '(not loaded)' : lance.version} ` +
    'at a local path with its IVF_FLAT index (√n partitions, 10 % of them and at least 20 probed; built at 10,000 ' +
    'vectors); hybrid: both lists, fused by reciprocal rank. Each backend\'s hybrid row uses the keyword rules.',
  '',
  '| chunks | vector index | mode | p50 ms | p99 ms |',
  '| ---: | --- | --- | ---: | ---: |',
  ...latencyRows,
  '',
  'Where the time goes (100k chunks, profiled by pass): the keyword list was the p99 (an any-word pass of "the", "it", ' +
    '"was" ranks every chunk: seconds) and, for every query, the join of all matches to kb_chunks before the sort (5,000 ' +
    'matches: 150 ms joined, 20 ms ranked in FTS5 alone, on a loaded machine); the rules and the FTS5-first ranking ' +
    'give the "keyword" rows. ' +
    'What is left is the vector scan: `exact` and `sqlite-vec` read all 100k × 384 floats per query (sqlite-vec ' +
    'also every row of the table), so neither meets the 50 ms hybrid p99 goal at 100k here; LanceDB\'s IVF index ' +
    'reads a tenth of them. sqlite-vec\'s binary-quantized vectors with a rescoring pass would be its way there (approximate).',
  '',
  `Load average ${loadAverage()} during the run (2 cores shared with other work): the same row moves by 2-4× ` +
    'between runs; compare rows of one run.',
].join('\n');
if (!values['no-write'] && ingestTable) {
  writeSection(join(REPO_ROOT, 'BENCHMARKS.md'), HEADING, body);
  process.stdout.write(`wrote the "${HEADING}" section of BENCHMARKS.md\n`);
} else process.stdout.write(`${body}\n`);
