// A live `hearth serve` in a child process over stories260K and a small synthetic embedding model, its own
// HEARTH_HOME and database, and a vector store with one file made through the OpenAI Files and Vector Stores API:
// what the MCP tests drive over /mcp and compare `hearth mcp` (stdio) against.

import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import OpenAI, { toFile } from 'openai';
import { REPO_ROOT, sharedPath } from '../shared.ts';
import { tempDir } from '../security/harness.ts';
import { STORIES } from '../server/harness.ts';
import { syntheticFamilyPath } from '../fixtures/synthetic-families.ts';

export const HEARTH = join(REPO_ROOT, 'bin', 'hearth.js');
export const CHAT_MODEL = 'stories260K';
export const EMBED_MODEL = 'embed-tiny';

const BERT = { family: 'bert' as const, nEmbd: 128, nHead: 4, nFF: 256, nLayer: 2, nCtxTrain: 512 };

export interface Home {
  dir: string;
  dbPath: string;
  /** The MODEL arguments: stories260K and the embedding model (served as EMBED_MODEL). */
  models: string[];
  env: Record<string, string>;
}

/** A fresh HEARTH_HOME with the two model files. */
export function makeHome(prefix: string): Home {
  const dir = tempDir(prefix);
  mkdirSync(join(dir, 'models'));
  const embed = join(dir, 'models', `${EMBED_MODEL}.gguf`);
  copyFileSync(syntheticFamilyPath(BERT), embed);
  const dbPath = join(dir, 'hearth.db');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('HEARTH_')) env[k] = v;
  Object.assign(env, { HEARTH_HOME: dir, HEARTH_DB: dbPath, HEARTH_SHARED: process.env.HEARTH_SHARED ?? join(REPO_ROOT, '..', 'shared') });
  return { dir, dbPath, models: [STORIES, embed], env };
}

export interface Served {
  base: string;
  child: ChildProcess;
  /** Every stdout line (JSON log lines). */
  logs: string[];
  stop(): Promise<void>;
}

/** `hearth serve` on a free loopback port; resolves once /health says the models are ready. */
export async function serve(home: Home, flags: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [HEARTH, 'serve', ...home.models, '--port', '0', '--parallel', '2', ...flags],
    { env: home.env, stdio: ['ignore', 'pipe', 'inherit'] });
  const logs: string[] = [];
  const base = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      logs.push(line);
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`hearth serve exited (${code}) before listening:\n${logs.join('\n')}`)));
  });
  for (let i = 0; ; i++) {
    if ((await fetch(`${base}/health`)).ok) break;
    if (i > 600) throw new Error('the models did not load');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base, child, logs,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export const PASSAGE_FILE = 'war-and-peace-part.txt';

/** A vector store (embedding model EMBED_MODEL) with one ingested file, through the OpenAI SDK; its id. */
export async function vectorStore(base: string, apiKey = 'none'): Promise<{ id: string; name: string }> {
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
  const text = readFileSync(sharedPath('text', 'war-and-peace.txt'), 'utf8').slice(50_000, 56_000);
  const file = await client.files.create({ file: await toFile(Buffer.from(text), PASSAGE_FILE), purpose: 'assistants' });
  const vs = await client.vectorStores.create({ name: 'novel', embedding_model: EMBED_MODEL } as OpenAI.VectorStores.VectorStoreCreateParams);
  await client.vectorStores.files.create(vs.id, { file_id: file.id, chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 120, chunk_overlap_tokens: 20 } } });
  for (;;) {
    const f = await client.vectorStores.files.retrieve(file.id, { vector_store_id: vs.id });
    if (f.status === 'completed') break;
    if (f.status !== 'in_progress') throw new Error(`ingest ${f.status}: ${JSON.stringify(f.last_error)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { id: vs.id, name: 'novel' };
}

/** What the HTTP API answers for the requests the tools mirror: the references a tool's answer must equal. */
export async function references(base: string, storeId: string, apiKey = 'none') {
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
  const chat = await client.chat.completions.create({ model: CHAT_MODEL, messages: CHAT_MESSAGES, max_tokens: 12, temperature: 0 });
  const prompt = await client.chat.completions.create({ model: CHAT_MODEL, messages: [{ role: 'user', content: PROMPT }], max_tokens: 10, temperature: 0 });
  const embeddings = await client.embeddings.create({ model: EMBED_MODEL, input: EMBED_INPUT, encoding_format: 'float' });
  const search = await client.vectorStores.search(storeId, { query: QUERY, max_num_results: 3 });
  return {
    chat: chat.choices[0]!.message.content!,
    prompt: prompt.choices[0]!.message.content!,
    embeddings: embeddings.data.map((d) => d.embedding),
    search: search.data.map((h) => ({ file_id: h.file_id, filename: h.filename, score: h.score, text: h.content[0]!.text })),
  };
}

export const CHAT_MESSAGES = [{ role: 'system' as const, content: 'You tell short stories.' }, { role: 'user' as const, content: 'Tell me about a cat' }];
export const PROMPT = 'Once upon a time';
export const EMBED_INPUT = ['the hearth and the home', 'a battle at dawn'];
export const QUERY = 'the prince spoke to the old count';

/** The text of a tool result's first content block. */
export function textOf(r: unknown): string {
  const c = (r as { content?: { type: string; text?: string }[] }).content;
  return c?.[0]?.text ?? '';
}
