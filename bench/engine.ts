// Whole-engine speed on 1B-class models: Hearth's cpu backend against llama.cpp on the same GGUF file,
// the same thread count, each in its own process so peak RSS is per engine.
// Usage: npm run bench   (all types at 1 and 2 threads; writes "## CPU engine (1B-class models)" of BENCHMARKS.md)
//        npm run bench -- --types Q8_0 --threads 2   (re-measures those rows; the others keep their last values)
//        npm run bench -- --quick   (64-token prompt, 16 tokens: a smoke run, prints only)
//        npm run bench -- --report   (rewrites the section from the stored rows, measures nothing)
// Models come from bench/engine-models.ts (cached under bench/.cache/). Rows are kept in
// bench/.cache/engine-results.json so a subset run updates only its rows of the table.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../test/shared.ts';
import { referenceBench, referenceUnavailableReason, REFERENCE_INSTALL_COMMAND } from '../test/reference/client.ts';
import { openGGUF } from '../src/gguf/reader.ts';
import { benchModelPath, BENCH_CACHE_DIR } from './engine-models.ts';
import { writeSection, machineDescription, hearthRevision } from './benchmarks-md.ts';
import { engineSection, type EngineRow, type EngineRun, type ModelFacts } from './engine-report.ts';

const HEADING = '## CPU engine (1B-class models)';
const RESULTS = join(BENCH_CACHE_DIR, 'engine-results.json');

const { values } = parseArgs({
  options: {
    types: { type: 'string', default: 'Q8_0,Q4_0,Q4_K_M' },
    threads: { type: 'string', default: '1,2' },
    quick: { type: 'boolean', default: false },
    'n-prompt': { type: 'string', short: 'p' },
    'n-gen': { type: 'string', short: 'n' },
    'skip-reference': { type: 'boolean', default: false },
    report: { type: 'boolean', default: false },
  },
});
const types = values.types.split(',').map((t) => t.trim().toUpperCase());
const threadCounts = values.threads.split(',').map(Number);
const nPrompt = Number(values['n-prompt'] ?? (values.quick ? 64 : 512));
const nGen = Number(values['n-gen'] ?? (values.quick ? 16 : 128));
const write = !values.quick && values['n-prompt'] === undefined && values['n-gen'] === undefined;

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function runHearth(model: string, threads: number): Promise<EngineRun> {
  const args = [join(REPO_ROOT, 'bin', 'hearth.js'), 'bench', model, '-p', String(nPrompt), '-n', String(nGen),
    '--threads', String(threads), '--backend', 'cpu', '--json'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const text = Buffer.concat(out).toString('utf8').trim();
      if (code !== 0) {
        reject(new Error(`hearth bench exited with ${code}:\n${Buffer.concat(err).toString('utf8').slice(-4000)}`));
        return;
      }
      const r = JSON.parse(text.split('\n').at(-1)!) as Record<string, number>;
      resolve({ loadS: r.load_s, prefillTps: r.prefill_tps, decodeTps: r.decode_tps, peakRssMb: r.peak_rss_mb });
    });
  });
}

async function runLlama(model: string, threads: number): Promise<EngineRun & { build: string }> {
  const { info, result } = await referenceBench(
    { model, threads, nCtx: Math.max(1024, nPrompt + nGen + 1) }, { nPrompt, nGen, reps: 1 });
  return {
    loadS: info.loadMs / 1000, prefillTps: result.prefillTokensPerS, decodeTps: result.decodeTokensPerS,
    peakRssMb: info.peakRssMb, build: `${info.llamaCpp} (node-llama-cpp ${info.nodeLlamaCpp}, ${info.buildType})`,
  };
}

/** Weight bytes a decoded token reads (every 2-D weight but the embedding, of which one row is gathered). */
function modelFacts(path: string): ModelFacts {
  const f = openGGUF(path);
  try {
    let bytes = 0;
    let params = 0;
    for (const t of f.tensors) {
      if (t.shape.length !== 2 || t.name === 'token_embd.weight') continue;
      bytes += t.byteSize;
      params += t.nElements;
    }
    return { fileBytes: f.size, decodeBytes: bytes, matmulParams: params };
  } finally {
    f.close();
  }
}

function load1(): number {
  return +loadavg()[0].toFixed(2);
}

function readRows(): EngineRow[] {
  return existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as EngineRow[]) : [];
}

const refReason = values['skip-reference'] ? 'skipped (--skip-reference)' : referenceUnavailableReason();
if (refReason) log(`llama.cpp reference unavailable: ${refReason} (${REFERENCE_INSTALL_COMMAND})`);

const rows = readRows();
let build = '';
for (const type of values.report ? [] : types) {
  const model = benchModelPath(type);
  const facts = modelFacts(model);
  for (const threads of threadCounts) {
    const loadBefore = load1();
    log(`${type} ${threads}T: hearth (load avg ${loadBefore})`);
    const hearth = await runHearth(model, threads);
    log(`  ${JSON.stringify(hearth)}`);
    let llama: EngineRun | null = null;
    if (!refReason) {
      log(`${type} ${threads}T: llama.cpp (load avg ${load1()})`);
      const r = await runLlama(model, threads);
      build = r.build;
      llama = { loadS: r.loadS, prefillTps: r.prefillTps, decodeTps: r.decodeTps, peakRssMb: r.peakRssMb };
      log(`  ${JSON.stringify(llama)}`);
    }
    const row: EngineRow = {
      type, threads, facts, hearth, llama, loadAvg: Math.max(loadBefore, load1()),
      date: new Date().toISOString().slice(0, 10), revision: hearthRevision(), llamaBuild: build,
    };
    console.log(JSON.stringify(row));
    if (write) {
      const i = rows.findIndex((r) => r.type === type && r.threads === threads);
      if (i >= 0) rows[i] = row; else rows.push(row);
      writeFileSync(RESULTS, JSON.stringify(rows, null, 2));
    }
  }
}

if (write) {
  const body = engineSection(rows, {
    machine: machineDescription(), node: process.version, nPrompt, nGen,
  });
  writeSection(join(REPO_ROOT, 'BENCHMARKS.md'), HEADING, body);
  log('wrote BENCHMARKS.md');
}
