// hearth kb create|add|search|ls|rm: the knowledge base (vector stores of files, as /v1/vector_stores serves
// them) in the hearth database (HEARTH_DB, else HEARTH_HOME/hearth.db), with the embedding model run here.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse, int, modelPath } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { openStore } from '../../store/store.ts';
import { EngineHost } from '../../engine/worker/engine-host.ts';
import { localProvider } from '../../provider/local-provider.ts';
import type { Provider } from '../../provider/types.ts';
import { KnowledgeBase, type SearchMode, type StoreFile } from '../../knowledge/knowledge-base.ts';
import type { EmbedderSource } from '../../knowledge/types.ts';
import { openVectorIndex, vectorIndexName } from '../../knowledge/open-index.ts';
import { providerEmbedder, searchHitJson } from '../../server/routes/knowledge.ts';
import type { Command } from '../main.ts';

const HELP = `Usage: hearth kb <create|add|search|ls|rm> [options]

  hearth kb create NAME --model MODEL       a vector store embedded by MODEL (a .gguf path or a library name)
  hearth kb add NAME PATH…                  ingest files (folders recursively): text, Markdown, HTML, code, PDF
      --chunk-tokens N (default 800)  --overlap N (default 400)
  hearth kb search NAME "QUERY" [-n 10] [--mode hybrid|keyword|vector] [--json]
  hearth kb ls [--json]                     vector stores, their model and file counts
  hearth kb rm NAME                         delete a vector store (its chunks; uploaded files stay)

  --vector-index exact|sqlite-vec|lancedb, --lancedb DIR: where vectors are searched, as hearth serve's flags.

NAME is a vector store's name or id. The database is HEARTH_DB, else hearth.db in HEARTH_HOME (default ~/.hearth).
`;

function walk(path: string, out: string[]): void {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new HearthError('not_found', `no such file or folder: ${path}`);
  if (st.isFile()) out.push(path);
  else if (st.isDirectory()) {
    for (const n of readdirSync(path).sort()) if (!n.startsWith('.') && n !== 'node_modules') walk(join(path, n), out);
  }
}

/** Embedders that load each model once into this process's engine thread. */
function localEmbedders(engine: EngineHost): { source: EmbedderSource; close(): void } {
  const loaded = new Map<string, Promise<Provider>>();
  const source: EmbedderSource = async (name) => {
    let p = loaded.get(name);
    if (!p) {
      p = localProvider({ path: modelPath(name), load: {} }, { scheduler: { parallel: 2, queueLimit: 256 }, engine })();
      loaded.set(name, p);
    }
    return { embedder: providerEmbedder(await p), release: () => {} };
  };
  return { source, close: () => { for (const p of loaded.values()) void p.then((x) => x.close(), () => {}); } };
}

export const command: Command = {
  summary: 'the knowledge base: vector stores of files, ingest and hybrid search',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub || sub === '--help' || sub === '-h') {
      process.stdout.write(HELP);
      return sub ? 0 : 1;
    }
    const { values: v, positionals } = parse(rest, {
      model: { type: 'string', short: 'm' }, json: { type: 'boolean' }, n: { type: 'string', short: 'n' }, mode: { type: 'string' },
      'chunk-tokens': { type: 'string' }, overlap: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      'vector-index': { type: 'string' }, lancedb: { type: 'string' },
    });
    if (v.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const indexName = vectorIndexName(v['vector-index']) ?? (v.lancedb !== undefined ? 'lancedb' : 'exact');
    const store = openStore();
    let index;
    try {
      index = await openVectorIndex(indexName, store.database.db, { lancedbDir: v.lancedb ?? join(dirname(store.database.path), 'lancedb') });
    } catch (e) {
      store.close();
      throw e;
    }
    const engine = new EngineHost();
    const embedders = localEmbedders(engine);
    let done = 0;
    let chunks = 0;
    let total = 0;
    const names = new Map<string, string>();
    const progress = (f: StoreFile) => {
      done++;
      chunks += f.chunks;
      const why = f.status === 'failed' ? `  failed: ${f.lastError?.message}` : '';
      process.stderr.write(`\r[${done}/${total} files, ${chunks} chunks] ${names.get(f.fileId) ?? f.fileId}${why}${why ? '\n' : ''}`);
    };
    const kb = new KnowledgeBase(store.database, { embedders: embedders.source, onSettled: progress, index });
    const find = (name: string | undefined) => {
      if (!name) throw new HearthError('invalid_argument', `kb ${sub} needs a vector store NAME`);
      const s = kb.findStore(name);
      if (!s) throw new HearthError('not_found', `no vector store "${name}" (hearth kb ls)`);
      return s;
    };
    try {
      switch (sub) {
        case 'create': {
          if (positionals.length !== 1) throw new HearthError('invalid_argument', 'kb create takes one NAME');
          if (!v.model) throw new HearthError('invalid_argument', 'kb create needs --model MODEL (an embedding model)');
          const s = await kb.createStore({ name: positionals[0], model: v.model });
          process.stdout.write(v.json ? `${JSON.stringify({ id: s.id, name: s.name, model: s.model })}\n` : `Created ${s.id} "${s.name}" (model ${s.model})\n`);
          return 0;
        }
        case 'add': {
          const [name, ...paths] = positionals;
          const s = find(name);
          if (!paths.length) throw new HearthError('invalid_argument', 'kb add needs at least one PATH');
          const files: string[] = [];
          for (const p of paths) walk(p, files);
          total = files.length;
          const chunking = { maxTokens: int(v['chunk-tokens'], '--chunk-tokens', 100), overlap: int(v.overlap, '--overlap', 0) };
          const t0 = performance.now();
          const before = kb.fileCounts(s.id);
          for (const path of files) {
            const f = kb.createFile(basename(path), 'assistants', readFileSync(path));
            names.set(f.id, path);
            const sf = kb.attach(s.id, f.id, { attributes: { path: path.slice(-512) }, chunking });
            if (sf.status !== 'in_progress') progress(sf);
          }
          kb.resume();
          await kb.idle();
          const after = kb.fileCounts(s.id);
          process.stderr.write(`\nIngested ${files.length} files in ${((performance.now() - t0) / 1000).toFixed(1)} s: ` +
            `${after.completed - before.completed} completed, ${after.failed - before.failed} failed\n`);
          return after.failed > before.failed ? 1 : 0;
        }
        case 'search': {
          const [name, ...words] = positionals;
          const s = find(name);
          const query = words.join(' ');
          if (!query.trim()) throw new HearthError('invalid_argument', 'kb search needs a QUERY');
          const mode = (v.mode ?? 'hybrid') as SearchMode;
          if (!['hybrid', 'keyword', 'vector'].includes(mode)) throw new HearthError('invalid_argument', '--mode is hybrid, keyword or vector');
          const hits = await kb.search(s.id, { query, maxResults: int(v.n, '-n', 1) ?? 10, mode });
          if (v.json) {
            process.stdout.write(`${JSON.stringify({ search_query: query, data: hits.map(searchHitJson) }, null, 2)}\n`);
          } else {
            for (const [i, h] of hits.entries()) {
              process.stdout.write(`${i + 1}. ${h.score.toFixed(4)}  ${h.attributes.path ?? h.filename}\n   ${h.text.replace(/\s+/g, ' ').slice(0, 200)}\n`);
            }
          }
          return 0;
        }
        case 'ls': {
          const stores = kb.stores().map((s) => ({ id: s.id, name: s.name, model: s.model, files: kb.fileCounts(s.id), usage_bytes: kb.usageBytes(s.id) }));
          if (v.json) process.stdout.write(`${JSON.stringify(stores, null, 2)}\n`);
          else if (!stores.length) process.stdout.write('No vector stores. Create one with: hearth kb create NAME --model MODEL\n');
          else {
            for (const s of stores) {
              process.stdout.write(`${s.id}  ${s.name}  model ${s.model}  files ${s.files.completed} completed, ${s.files.failed} failed, ${s.files.in_progress} in progress  ${s.usage_bytes} bytes\n`);
            }
          }
          return 0;
        }
        case 'rm': {
          const s = find(positionals[0]);
          kb.deleteStore(s.id);
          process.stdout.write(`Deleted ${s.id} "${s.name}"\n`);
          return 0;
        }
        default:
          throw new HearthError('invalid_argument', `unknown kb command "${sub}": use create, add, search, ls or rm`);
      }
    } finally {
      await kb.close();
      embedders.close();
      await engine.close();
      store.close();
    }
  },
};
