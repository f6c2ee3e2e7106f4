// The hearth CLI: the composition root. Each command lives in commands/<name>.ts.

import { HearthError } from '../util/errors.ts';

interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.ts')).command,
  info: async () => (await import('./commands/info.ts')).command,
  quantize: async () => (await import('./commands/quantize.ts')).command,
  bench: async () => (await import('./commands/bench.ts')).command,
  tokenize: async () => (await import('./commands/tokenize.ts')).tokenize,
  detokenize: async () => (await import('./commands/tokenize.ts')).detokenize,
  serve: async () => (await import('./commands/serve.ts')).command,
  logs: async () => (await import('./commands/logs.ts')).command,
  backup: async () => (await import('./commands/backup.ts')).command,
  mcp: async () => (await import('./commands/mcp.ts')).command,
  keys: async () => (await import('./commands/keys.ts')).command,
  secrets: async () => (await import('./commands/secrets.ts')).command,
  kb: async () => (await import('./commands/kb.ts')).command,
  usage: async () => (await import('./commands/usage.ts')).command,
  rerank: async () => (await import('./commands/rerank.ts')).command,
  pull: async () => (await import('./commands/pull.ts')).command,
  fit: async () => (await import('./commands/fit.ts')).command,
  system: async () => (await import('./commands/system.ts')).command,
  list: async () => (await import('./commands/list.ts')).command,
  ls: async () => (await import('./commands/list.ts')).command,
  show: async () => (await import('./commands/show.ts')).command,
  rm: async () => (await import('./commands/rm.ts')).command,
  cp: async () => (await import('./commands/cp.ts')).command,
  create: async () => (await import('./commands/create.ts')).command,
  analyze: async () => (await import('./commands/analyze.ts')).command,
  ps: async () => (await import('./commands/ps.ts')).ps,
  stop: async () => (await import('./commands/ps.ts')).stop,
  exec: async () => (await import('./commands/exec.ts')).command,
  assess: async () => (await import('./commands/assess.ts')).command,
  agent: async () => (await import('./commands/agent.ts')).command,
};

const USAGE = `Usage: hearth <command> [options]

Commands:
  run MODEL --prompt "…" [-n N] [--temp T] [--seed S] [--raw]   generate text
  info MODEL                                                     describe a GGUF model
  quantize IN.gguf OUT.gguf TYPE                                 quantize a model (Q4_0, Q8_0, Q4_K_M, …)
  bench MODEL [-p 512] [-n 128] [--threads T] [--backend B] [--json]  measure load, prefill and decode speed
  tokenize MODEL|tokenizer.json (--text T | --file F | --jsonl F) print token ids ([--no-bos] [--parse-special] [--json])
  detokenize MODEL|tokenizer.json ID…                            print the text of token ids
  rerank MODEL --query Q FILE… [--top N] [--json]                 rank files by relevance to a query (a reranker model)
  pull SOURCE [--name NAME] [--quiet]                            download a model (hf.co/OWNER/REPO[:QUANT], hf.co/…/FILE.gguf, URL)
  list | ls [--json]                                             list the models library (HEARTH_MODELS and its catalog)
  show NAME [--json | --modelfile]                               a library model's facts and preset
  rm NAME…                                                       remove models (a file goes with its last name)
  cp SRC DST                                                     another name for a model (the file is shared)
  create NAME --from MODEL [--system T] [--param k=v …] [--file Modelfile]  a preset: system prompt and parameters
  fit MODEL [--ctx N] [--json]                                   estimate the memory a model needs
  system [--json]                                                cores, memory, cgroup limit and WebGPU adapters
  serve [MODEL…] [--port 8434] [--keep-alive 5m] [--max-memory 8GiB]  serve OpenAI-, Ollama- and Anthropic-compatible APIs
                                                                 (no MODEL: the library, each model loaded on demand)
  logs [--follow] [--component C] [-n N] [--json]                print the server's log files readably
  backup FILE                                                    an online copy of the database, safe while the server runs
  mcp [MODEL…] [--config FILE]                                   serve models and the knowledge base to an MCP host over stdio
                                                                 (hearth serve answers the same tools at /mcp)
  mcp list                                                       the MCP servers configured under mcp_servers: and their tools
  ps [--json]                                                    the models a running server has loaded, and until when
  stop NAME                                                      unload a model from a running server
  analyze IMAGE… [--prompt P] [--model M] [--json]               analyse images with a running server's vision model
  keys create --name N [--scopes S] [--models M] [--rpm N] [--tpm N] [--concurrency N] [--expires 30d]  create an API key
  keys list | keys revoke ID                                     list (never the secret) or revoke API keys
  kb create NAME --model M | kb add NAME PATH… | kb search NAME "QUERY" [--json] | kb ls | kb rm NAME  the knowledge base
  usage [--key ID] [--since 24h] [--by key|route|model] [--json] summarise the server's usage audit
  exec --lang python|node|bash FILE|- [--workspace DIR] [--json]  run a program in the sandbox; print its output and limits hit
  assess --lang python|node|bash FILE|- [--json]                 rate a program's risk (LOW, MEDIUM, HIGH, BLOCKED) and why
  agent "TASK" --workspace DIR --model M [--reviewer M] [--script F]  the assistant: tool calls assessed, reviewed, approved, committed

MODEL is a .gguf path or a library name (hearth list); HEARTH_MODEL sets the default.
Run "hearth <command> --help" for a command's options.
`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write('hearth 0.1.0\n');
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`hearth: unknown command "${name}"\n\n${USAGE}`);
    return 1;
  }
  try {
    return await (await load()).run(rest);
  } catch (e) {
    if (e instanceof HearthError) {
      process.stderr.write(`hearth ${name}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

export type { Command };
