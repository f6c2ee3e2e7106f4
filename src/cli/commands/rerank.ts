// hearth rerank MODEL --query Q FILE…: score each file's text against the query with a reranker (a model with
// pooling rank and a classification head) and print index, score and file, best first.

import { readFileSync } from 'node:fs';
import { parse, int, modelPath } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { EngineHost } from '../../engine/worker/engine-host.ts';
import { localProvider } from '../../provider/local-provider.ts';
import { rankOrder } from '../../api/rerank/rerank.ts';
import type { BackendName } from '../../engine/types.ts';
import type { Provider } from '../../provider/types.ts';
import type { Command } from '../main.ts';

const HELP = `Usage: hearth rerank MODEL --query "…" FILE… [options]

Prints one line per file, best first: its index among the files, its relevance score (the model's raw
logit, as llama-server's /v1/rerank reports it) and its name.

  -q, --query TEXT     the query the files are ranked for
      --top N          print only the N best
      --json           print {"results": [{"index", "score", "file"}], "tokens"} instead
  -c, --ctx N          context size (default: the model's, at most 4096); a query and file longer fail
      --backend B      cpu (default), ref, webgpu
      --threads N
`;

export const command: Command = {
  summary: 'rank files by relevance to a query',
  async run(argv) {
    const { values: v, positionals } = parse(argv, {
      query: { type: 'string', short: 'q' }, top: { type: 'string' }, json: { type: 'boolean' },
      ctx: { type: 'string', short: 'c' }, backend: { type: 'string' }, threads: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (v.query === undefined) throw new HearthError('invalid_argument', 'give the query with --query "…"');
    const [model, ...files] = positionals;
    if (files.length === 0) throw new HearthError('invalid_argument', 'give at least one FILE to rank');
    const top = int(v.top, '--top', 1) ?? files.length;
    const documents = files.map((f) => {
      try {
        return readFileSync(f, 'utf8');
      } catch (e) {
        throw new HearthError('io_error', `cannot read ${f}: ${(e as Error).message}`, { cause: e });
      }
    });
    const path = modelPath(model);
    const engine = new EngineHost();
    try {
      const provider: Provider = await localProvider({
        path, load: { nCtx: int(v.ctx, '--ctx', 1), backend: v.backend as BackendName | undefined, threads: int(v.threads, '--threads', 1) },
      }, { scheduler: { parallel: 1, queueLimit: documents.length }, engine })();
      const card = provider.card;
      if (!card.capabilities.rerank || !provider.rerank) {
        throw new HearthError('invalid_argument', `${path} cannot rerank: ${card.missing?.rerank ?? 'its provider has no reranking'}`);
      }
      const { scores, tokens } = await provider.rerank(v.query, documents);
      const order = rankOrder(scores).slice(0, top);
      if (v.json) {
        process.stdout.write(JSON.stringify({ results: order.map((i) => ({ index: i, score: scores[i], file: files[i] })), tokens }) + '\n');
      } else {
        process.stdout.write(order.map((i) => `${i}\t${scores[i].toFixed(6)}\t${files[i]}`).join('\n') + '\n');
      }
      provider.close();
      return 0;
    } finally {
      await engine.close();
    }
  },
};
