// Mixture-of-experts speed: Hearth's cpu backend against llama.cpp on one synthetic Qwen3-MoE-shaped GGUF file
// (Qwen3-30B-A3B's layer: 2048 wide, 32 query / 4 KV heads of 128, experts of 768; here 64 experts, 8 used per
// token, Q4_K weights), the same thread count, each engine in its own process (as bench/engine.ts runs them).
// Fewer layers than the real model's 48: one layer's weights are ~180 MB at Q4_K, so 24 layers (4.3 GB) would
// not fit the 4 GiB WebAssembly memory; tokens/s scale with 1 / layers, so the per-layer cost is what compares.
// Usage: node bench/moe.ts                    (4 layers, 1 and 2 threads; writes "## CPU engine (mixture of experts)")
//        node bench/moe.ts --layers 4 --threads 2
//        node bench/moe.ts --quick            (1 layer, 32-token prompt, 8 tokens: a smoke run, prints only)
// The model is built once by test/fixtures/synthetic-families.ts and cached under test/.cache/synthetic/.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../test/shared.ts';
import { referenceBench, referenceUnavailableReason, REFERENCE_INSTALL_COMMAND } from '../test/reference/client.ts';
import { syntheticFamilyPath, type FamilyModelOptions } from '../test/fixtures/synthetic-families.ts';
import { openGGUF } from '../src/gguf/reader.ts';
import { machineDescription, writeSection } from './benchmarks-md.ts';
import type { EngineRun } from './engine-report.ts';

const HEADING = '## CPU engine (mixture of experts)';

const WHAT_LIMITS = 'What limits it: decode is bound by the Q4_K matvec kernel, as in the dense rows of "CPU engine (1B-class ' +
  'models)" (WebAssembly has no VNNI or byte-sign instruction; about 8 GB/s per thread on cache-resident weights), and ' +
  'a decoded token runs 3 matmuls for each of its 8 experts per layer, each its own thread hand-off; the routing and the ' +
  'weighted sum run on the calling thread. MoE decode is nearer llama.cpp than dense decode because each expert matrix ' +
  'is small (768 x 2048), where (we think) llama.cpp\'s per-matmul overhead weighs more. Prefill gathers each expert\'s routed rows ' +
  'into one matmul, but a 128-token prompt gives an expert only ~16 rows (8 of 64 per token), so the kernels run on ' +
  'narrow batches; llama.cpp\'s mul_mat_id does the same gathering with its faster AVX-512 kernels.';

const { values } = parseArgs({
  options: {
    layers: { type: 'string' },
    threads: { type: 'string', default: '1,2' },
    type: { type: 'string', default: 'Q4_K' },
    quick: { type: 'boolean', default: false },
    'n-prompt': { type: 'string', short: 'p' },
    'n-gen': { type: 'string', short: 'n' },
    'skip-reference': { type: 'boolean', default: false },
  },
});
const nLayer = Number(values.layers ?? (values.quick ? 1 : 4));
const threadCounts = values.threads.split(',').map(Number);
const nPrompt = Number(values['n-prompt'] ?? (values.quick ? 32 : 128));
const nGen = Number(values['n-gen'] ?? (values.quick ? 8 : 64));
const write = !values.quick;

/** Qwen3-30B-A3B's layer with 64 experts (of its 128) and 8 used. */
export const MOE_BENCH_SHAPE: FamilyModelOptions = {
  family: 'qwen3moe', nEmbd: 2048, nHead: 32, nHeadKv: 4, headDim: 128, nFF: 6144, nExpert: 64, nExpertUsed: 8, nFFExp: 768,
};

function log(msg: string): void {
  process.stderr.write(`[bench moe] ${msg}\n`);
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
      if (code !== 0) {
        reject(new Error(`hearth bench exited with ${code}:\n${Buffer.concat(err).toString('utf8').slice(-4000)}`));
        return;
      }
      const r = JSON.parse(Buffer.concat(out).toString('utf8').trim().split('\n').at(-1)!) as Record<string, number>;
      resolve({ loadS: r.load_s, prefillTps: r.prefill_tps, decodeTps: r.decode_tps, peakRssMb: r.peak_rss_mb });
    });
  });
}

async function runLlama(model: string, threads: number): Promise<EngineRun & { build: string }> {
  const { info, result } = await referenceBench({ model, threads, nCtx: Math.max(512, nPrompt + nGen + 1) }, { nPrompt, nGen, reps: 1 });
  return {
    loadS: info.loadMs / 1000, prefillTps: result.prefillTokensPerS, decodeTps: result.decodeTokensPerS,
    peakRssMb: info.peakRssMb, build: `${info.llamaCpp} (node-llama-cpp ${info.nodeLlamaCpp}, ${info.buildType})`,
  };
}

interface MoeFacts { fileBytes: number; decodeBytes: number; nExpert: number; nUsed: number }

/**
 * Weight bytes a decoded token reads: every 2-D weight but the embedding (one row of which is gathered), and of
 * each 3-D expert tensor the share of the experts used.
 */
function moeFacts(path: string): MoeFacts {
  const f = openGGUF(path);
  try {
    const nExpert = f.metadata.getNumber('qwen3moe.expert_count');
    const nUsed = f.metadata.getNumber('qwen3moe.expert_used_count');
    let bytes = 0;
    for (const t of f.tensors) {
      if (t.shape.length === 2 && t.name !== 'token_embd.weight') bytes += t.byteSize;
      if (t.shape.length === 3) bytes += (t.byteSize * nUsed) / nExpert;
    }
    return { fileBytes: f.size, decodeBytes: bytes, nExpert, nUsed };
  } finally {
    f.close();
  }
}

const load1 = () => +loadavg()[0].toFixed(2);
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

const refReason = values['skip-reference'] ? 'skipped (--skip-reference)' : referenceUnavailableReason();
if (refReason) log(`llama.cpp reference unavailable: ${refReason} (${REFERENCE_INSTALL_COMMAND})`);

log(`model: ${nLayer} layers, ${values.type} (built on first use)`);
const model = syntheticFamilyPath({ ...MOE_BENCH_SHAPE, nLayer, weightType: values.type });
const facts = moeFacts(model);
log(`${model}: ${f1(facts.fileBytes / 2 ** 20)} MiB, ${f1(facts.decodeBytes / 2 ** 20)} MiB read per decoded token`);

interface Row { threads: number; hearth: EngineRun; llama: EngineRun | null; loadAvg: number }
const rows: Row[] = [];
let build = '';
for (const threads of threadCounts) {
  const before = load1();
  log(`${threads}T: hearth (load avg ${before})`);
  const hearth = await runHearth(model, threads);
  log(`  ${JSON.stringify(hearth)}`);
  let llama: EngineRun | null = null;
  if (!refReason) {
    log(`${threads}T: llama.cpp (load avg ${load1()})`);
    const r = await runLlama(model, threads);
    build = r.build;
    llama = { loadS: r.loadS, prefillTps: r.prefillTps, decodeTps: r.decodeTps, peakRssMb: r.peakRssMb };
    log(`  ${JSON.stringify(llama)}`);
  }
  const row = { threads, hearth, llama, loadAvg: Math.max(before, load1()) };
  console.log(JSON.stringify(row));
  rows.push(row);
}

if (write) {
  const gbs = (r: EngineRun) => (facts.decodeBytes * r.decodeTps) / 1e9;
  const cell = (r: EngineRun | null, k: 'prefillTps' | 'decodeTps') => (r ? f1(r[k]) : '—');
  const lines = [
    `Decode and prefill tokens/s of a synthetic Qwen3-MoE-shaped model: 2048 wide, ${nLayer} layers (the real 30B-A3B has 48; ` +
      `24 would exceed the 4 GiB WebAssembly memory), 32 / 4 heads of 128, ${facts.nExpert} experts of 768, ${facts.nUsed} used per token, ` +
      `${values.type} weights (router F32), ${f1(facts.fileBytes / 2 ** 20)} MiB; a ${nPrompt}-token prompt, then ${nGen} tokens. ` +
      `A decoded token reads ${f1(facts.decodeBytes / 2 ** 20)} MiB of weights (attention, router, head, and ${facts.nUsed} of ${facts.nExpert} experts). ` +
      `Hearth runs each expert's routed rows as one batch (prefill). Regenerate with \`node bench/moe.ts\`.`,
    '',
    `Machine: ${machineDescription()}; Node ${process.version}; llama.cpp ${build || 'not run'}; ${new Date().toISOString().slice(0, 10)}. ` +
      'The machine is shared: a row whose load average is near or above its thread count ran contended, which hurts ' +
      "llama.cpp's spinning worker threads most (compare its 1- and 2-thread decode).",
    '',
    '| threads | Hearth prefill tok/s | llama.cpp prefill tok/s | Hearth decode tok/s | llama.cpp decode tok/s | decode ratio | Hearth decode GB/s | load avg |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.threads} | ${cell(r.hearth, 'prefillTps')} | ${cell(r.llama, 'prefillTps')} | ${cell(r.hearth, 'decodeTps')} | ` +
      `${cell(r.llama, 'decodeTps')} | ${r.llama ? `${f2(r.hearth.decodeTps / r.llama.decodeTps)}×` : '—'} | ${f1(gbs(r.hearth))} | ${r.loadAvg} |`),
    '',
    WHAT_LIMITS,
  ];
  writeSection(join(REPO_ROOT, 'BENCHMARKS.md'), HEADING, lines.join('\n'));
  log('wrote BENCHMARKS.md');
}
