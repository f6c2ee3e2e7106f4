#!/usr/bin/env node
// llama.cpp's own GBNF parser and matcher as an oracle for grammars Hearth writes, run as its own process so Hearth
// never imports node-llama-cpp. No model is loaded: node-llama-cpp parses a grammar with llama_grammar_init_impl and
// its (internal) isTextCompatible feeds a text's code points through llama_grammar_accept.
// Input (stdin): GbnfCheckRequest as JSON. Output (stdout): GbnfCheckResponse as JSON.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REFERENCE_MODULES } from './cpu-variant.ts';

export interface GbnfCheckRequest { cases: Array<{ grammar: string; texts: string[] }> }
/** Per case: whether llama.cpp parsed the grammar, its complaint if not, and per text whether the whole text matches. */
export interface GbnfCheckResponse { results: Array<{ parsed: boolean; error?: string; matches: boolean[] }> }

interface Grammar { _testText(text: string): boolean }
interface Llama { createGrammar(options: { grammar: string }): Promise<Grammar> }
interface NodeLlamaCpp { getLlama(options: Record<string, unknown>): Promise<Llama> }

process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = 'true';
process.env.NODE_LLAMA_CPP_GPU = 'false';

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8')) as GbnfCheckRequest;
  const nlc = (await import(pathToFileURL(join(REFERENCE_MODULES, 'node-llama-cpp', 'dist', 'index.js')).href)) as NodeLlamaCpp;
  const llama = await nlc.getLlama({ gpu: false, build: 'never', skipDownload: true, usePrebuiltBinaries: true, progressLogs: false, logLevel: 'error',
    // llama.cpp names the parse error on its log; keep the last line for the answer.
    logger: (_level: string, message: string) => { lastLog = message; } });
  let lastLog = '';
  const results: GbnfCheckResponse['results'] = [];
  for (const c of req.cases) {
    lastLog = '';
    let grammar: Grammar;
    try {
      grammar = await llama.createGrammar({ grammar: c.grammar });
    } catch (e) {
      results.push({ parsed: false, error: `${(e as Error).message}: ${lastLog.trim()}`, matches: [] });
      continue;
    }
    results.push({ parsed: true, matches: c.texts.map((t) => grammar._testText(t)) });
  }
  // Exit once the answer is out: a pipe takes a large write in parts.
  process.stdout.write(JSON.stringify({ results } satisfies GbnfCheckResponse), () => process.exit(0));
}

await main();
