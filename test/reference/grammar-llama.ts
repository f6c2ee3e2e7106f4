#!/usr/bin/env node
// llama.cpp's own grammar sampling as an oracle: generates from a model under GBNF grammars and prints the
// texts as JSON on stdout. Input (argv[2]): {"model": path, "grammars": [gbnf text...], "seeds": [n...], "maxTokens": n}.
// Run as its own process so Hearth never imports node-llama-cpp; prebuilt CPU binary only, offline.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { referenceModulesFor } from './cpu-variant.ts';

process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = 'true';
process.env.NODE_LLAMA_CPP_GPU = 'false';

interface Req { model: string; grammars: string[]; seeds: number[]; maxTokens: number }
const req = JSON.parse(process.argv[2]!) as Req;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const nlc = (await import(pathToFileURL(join(referenceModulesFor(undefined), 'node-llama-cpp', 'dist', 'index.js')).href)) as any;
const llama = await nlc.getLlama({ gpu: false, build: 'never', skipDownload: true, usePrebuiltBinaries: true, progressLogs: false, logLevel: 'error' });
const model = await llama.loadModel({ modelPath: req.model, gpuLayers: 0 });
const context = await model.createContext({ contextSize: 512, sequences: 1, threads: 2 });
const sequence = context.getSequence();
const completion = new nlc.LlamaCompletion({ contextSequence: sequence });
const out: string[][] = [];
for (const text of req.grammars) {
  const grammar = await llama.createGrammar({ grammar: text });
  const texts: string[] = [];
  for (const seed of req.seeds) {
    await sequence.clearHistory();
    texts.push(await completion.generateCompletion('', { grammar, maxTokens: req.maxTokens, temperature: 1, seed }));
  }
  out.push(texts);
}
process.stdout.write(JSON.stringify(out));
await context.dispose();
await model.dispose();
process.exit(0);
