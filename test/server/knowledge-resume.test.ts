// An ingest killed midway resumes: a child `hearth serve` is killed (SIGKILL) while it embeds a long file, a
// second one on the same database finishes it, and the chunks are exactly the ones a single run makes (the
// sequence 0…n-1 once each, n as chunkText counts with the model's tokenizer).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { syntheticFamilyPath } from '../fixtures/synthetic-families.ts';
import { tempDir } from '../security/harness.ts';
import { untilHealthy } from './harness.ts';
import { REPO_ROOT, sharedPath } from '../shared.ts';
import { Database } from '../../src/store/database.ts';
import { loadModel } from '../../src/engine/load.ts';
import { chunkText } from '../../src/knowledge/chunk.ts';

const BERT = { family: 'bert' as const, nEmbd: 128, nHead: 4, nFF: 256, nLayer: 2, nCtxTrain: 512 };

function serve(model: string, db: string, port: number): ChildProcess {
  return spawn(process.execPath, [join(REPO_ROOT, 'bin', 'hearth.js'), 'serve', model, '--alias', 'embed-tiny', '--port', String(port), '--log-level', 'warn', '--parallel', '1'],
    { env: { ...process.env, HEARTH_DB: db }, stdio: ['ignore', 'ignore', 'inherit'] });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('kill -9 mid-ingest, restart: the ingest resumes, nothing lost or duplicated', async () => {
  const model = syntheticFamilyPath(BERT);
  const dbPath = join(tempDir('hearth-kb-resume-'), 'hearth.db');
  const port = 20000 + Math.floor(Math.random() * 20000);
  const base = `http://127.0.0.1:${port}`;
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'none', maxRetries: 0 });
  const text = readFileSync(sharedPath('text', 'war-and-peace.txt'), 'utf8').slice(100_000, 160_000);
  const chunking = { max_chunk_size_tokens: 100, chunk_overlap_tokens: 20 };

  let child = serve(model, dbPath, port);
  try {
    await untilHealthy(base);
    const file = await client.files.create({ file: await toFile(Buffer.from(text), 'long.txt'), purpose: 'assistants' });
    const vs = await client.vectorStores.create({ name: 'resume', embedding_model: 'embed-tiny' } as OpenAI.VectorStores.VectorStoreCreateParams);
    await client.vectorStores.files.create(vs.id, { file_id: file.id, chunking_strategy: { type: 'static', static: chunking } });
    const db = Database.open(dbPath);
    const count = () => Number((db.db.prepare('SELECT count(*) AS n FROM kb_chunks').get() as { n: number }).n);
    try {
      while (count() < 24) await sleep(10);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const killedAt = count();
      const status = (db.db.prepare('SELECT status FROM kb_store_files').get() as { status: string }).status;
      assert.equal(status, 'in_progress');

      child = serve(model, dbPath, port);
      await untilHealthy(base);
      let f;
      do {
        await sleep(50);
        f = await client.vectorStores.files.retrieve(file.id, { vector_store_id: vs.id });
      } while (f.status === 'in_progress');
      assert.equal(f.status, 'completed', JSON.stringify(f.last_error));

      const tok = loadModel(model).tokenizer;
      const want = chunkText(text, (s) => tok.encode(s, { addBos: false, addEos: false }).length, { maxTokens: 100, overlap: 20 });
      const rows = db.db.prepare('SELECT seq, text FROM kb_chunks ORDER BY seq').all() as { seq: number; text: string }[];
      assert.ok(killedAt < want.length, `killed after ${killedAt} of ${want.length} chunks`);
      assert.deepEqual(rows.map((r) => Number(r.seq)), want.map((_, i) => i));
      assert.deepEqual(rows.map((r) => r.text), want.map((c) => c.text));
    } finally {
      db.close();
    }
  } finally {
    child.kill('SIGKILL');
  }
});
