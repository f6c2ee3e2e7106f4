// Tokenizer throughput on a long real text: Hearth against llama.cpp (GGUF vocabularies) and against
// Hugging Face Tokenizers.js (tokenizer.json files), with an id-for-id comparison of each pair.
// Every measurement runs in its own process so each cold number is a real first call.
// Usage: npm run bench:tokenizers   (writes the "## Tokenizers" section of BENCHMARKS.md)
//        npm run bench:tokenizers -- <name filter>   (only matching vocabularies; prints, writes nothing)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SHARED_DIR, REPO_ROOT, sharedPath } from '../test/shared.ts';
import { referenceTokenizeBench, referenceUnavailableReason, REFERENCE_INSTALL_COMMAND } from '../test/reference/client.ts';
import type { RunResult, Impl } from './tokenizers-run.ts';
import { diffIds, describeDiff } from './id-diff.ts';
import { writeSection, machineDescription } from './benchmarks-md.ts';

const REPS = 3;
const RUNNER = fileURLToPath(new URL('./tokenizers-run.ts', import.meta.url));
const HEADING = '## Tokenizers';

interface Row {
  name: string;
  hearth: RunResult;
  reference: string;
  refColdMs: number;
  refBestMs: number;
  refBestCpuMs: number;
  same: string;
}

function runChild(impl: Impl, path: string, textFile: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, impl, path, textFile, String(REPS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${impl} on ${path} exited with ${code}:\n${Buffer.concat(err).toString('utf8').slice(-4000)}`));
        return;
      }
      resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as RunResult);
    });
  });
}

function decodeIds(b64: string): Uint32Array {
  const bytes = Buffer.from(b64, 'base64');
  const ids = new Uint32Array(bytes.byteLength / 4);
  new Uint8Array(ids.buffer).set(bytes);
  return ids;
}

function packageVersion(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

function hearthVersion(): string {
  let rev = '';
  try {
    rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src/tokenizer'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (dirty.trim()) rev += ' + uncommitted src/tokenizer changes';
  } catch { /* not a git checkout */ }
  return `${packageVersion(REPO_ROOT)}${rev ? ` (${rev})` : ''}`;
}

const mbps = (bytes: number, ms: number): string => (bytes / ms / 1000).toFixed(2);

function ggufVocabs(filter: string): Array<{ name: string; path: string }> {
  const dir = join(SHARED_DIR, 'vocab');
  return readdirSync(dir)
    .filter((f) => /^ggml-vocab-.+\.gguf$/.test(f))
    .map((f) => ({ name: f.slice('ggml-vocab-'.length, -'.gguf'.length), path: join(dir, f) }))
    .filter((v) => v.name.includes(filter))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function hfTokenizers(filter: string): Array<{ name: string; path: string }> {
  const dir = join(SHARED_DIR, 'tokenizers');
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'tokenizer.json')) && existsSync(join(dir, d, 'tokenizer_config.json')))
    .map((d) => ({ name: d, path: join(dir, d, 'tokenizer.json') }))
    .filter((v) => v.name.includes(filter))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<void> {
  const filter = process.argv[2] ?? '';
  const textFile = sharedPath('text', 'war-and-peace.txt');
  const bytes = statSync(textFile).size;
  const rows: Row[] = [];
  const loadStart = loadavg()[0];
  const versions: string[] = [`Hearth ${hearthVersion()}`];

  const refReason = referenceUnavailableReason();
  let llamaVersion = '';
  for (const v of ggufVocabs(filter)) {
    const hearth = await runChild('hearth', v.path, textFile);
    if (refReason !== null) {
      rows.push({ name: `${v.name} (GGUF)`, hearth, reference: 'llama.cpp', refColdMs: NaN, refBestMs: NaN, refBestCpuMs: NaN, same: 'n/a' });
      continue;
    }
    const ref = await referenceTokenizeBench(v.path, { file: textFile, reps: REPS, returnTokens: true });
    llamaVersion = `node-llama-cpp ${ref.info.nodeLlamaCpp} (${ref.info.llamaCpp}, ${ref.info.buildType} CPU binary)`;
    const same = describeDiff(diffIds(decodeIds(hearth.ids), ref.tokens ?? new Uint32Array()));
    rows.push({
      name: `${v.name} (GGUF)`, hearth, reference: 'llama.cpp', refColdMs: ref.result.coldMs, refBestMs: ref.result.bestMs,
      refBestCpuMs: ref.result.bestCpuMs, same,
    });
    log(`${v.name}: Hearth ${mbps(bytes, hearth.encode.bestMs)} MB/s, llama.cpp ${mbps(bytes, ref.result.bestMs)} MB/s, identical: ${same}`);
  }
  versions.push(refReason === null ? llamaVersion : `llama.cpp reference not run: ${refReason} (\`${REFERENCE_INSTALL_COMMAND}\`)`);

  const hfDir = join(REPO_ROOT, 'node_modules', '@huggingface', 'tokenizers');
  for (const v of hfTokenizers(filter)) {
    const hearth = await runChild('hearth', v.path, textFile);
    const hf = await runChild('hf', v.path, textFile);
    const same = describeDiff(diffIds(decodeIds(hearth.ids), decodeIds(hf.ids)));
    rows.push({
      name: `${v.name} (tokenizer.json)`, hearth, reference: 'Tokenizers.js',
      refColdMs: hf.encode.coldMs, refBestMs: hf.encode.bestMs, refBestCpuMs: hf.encode.bestCpuMs, same,
    });
    log(`${v.name}: Hearth ${mbps(bytes, hearth.encode.bestMs)} MB/s, Tokenizers.js ${mbps(bytes, hf.encode.bestMs)} MB/s, identical: ${same}`);
  }
  versions.push(`@huggingface/tokenizers (Tokenizers.js) ${packageVersion(hfDir)}`);

  const load = `1-minute load average ${loadStart.toFixed(2)} at the start, ${loadavg()[0].toFixed(2)} at the end`;
  const body = render(rows, bytes, versions, load);
  if (filter) {
    // A partial run prints its table and leaves BENCHMARKS.md alone.
    process.stdout.write(`${body}\n`);
    return;
  }
  writeSection(join(REPO_ROOT, 'BENCHMARKS.md'), HEADING, body);
  log('wrote the "## Tokenizers" section of BENCHMARKS.md');
}

function render(rows: Row[], bytes: number, versions: string[], load: string): string {
  const head = [
    'vocabulary', 'Hearth cold MB/s', 'Hearth warm MB/s', 'reference', 'reference MB/s', 'ratio', 'ids identical',
    'ratio by CPU time', 'reference cold MB/s', 'tokens', 'Hearth decode MB/s', 'round-trip',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => ([0, 3, 6, 11].includes(i) ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) {
    const h = r.hearth;
    const ratio = Number.isFinite(r.refBestMs) ? `${(r.refBestMs / h.encode.bestMs).toFixed(2)}×` : 'n/a';
    const cpuRatio = Number.isFinite(r.refBestCpuMs) ? `${(r.refBestCpuMs / h.encode.bestCpuMs).toFixed(2)}×` : 'n/a';
    lines.push(`| ${[
      r.name, mbps(bytes, h.encode.coldMs), mbps(bytes, h.encode.bestMs), r.reference,
      Number.isFinite(r.refBestMs) ? mbps(bytes, r.refBestMs) : 'n/a', ratio, r.same, cpuRatio,
      Number.isFinite(r.refColdMs) ? mbps(bytes, r.refColdMs) : 'n/a', h.nTokens.toLocaleString('en-US'),
      h.decode ? mbps(bytes, h.decode.bestMs) : 'n/a', h.roundTrip === null ? 'n/a' : h.roundTrip ? 'yes' : 'no',
    ].join(' | ')} |`);
  }
  return [
    `Regenerate with \`npm run bench:tokenizers\` (bench/tokenizers.ts).`,
    '',
    `- Date: ${new Date().toISOString().slice(0, 10)}`,
    `- Machine: ${machineDescription()}; ${load}`,
    `- Node ${process.version}`,
    `- ${versions.join('\n- ')}`,
    `- Text: war-and-peace.txt, ${bytes.toLocaleString('en-US')} bytes of UTF-8; MB = 10^6 bytes of input text.`,
    '',
    `Encode without BOS/EOS and without parsing special-token text (llama.cpp \`tokenize(text, add_special=false, ` +
      `parse_special=false)\`, Tokenizers.js \`add_special_tokens: false\`), the whole text in one call, single ` +
      `thread. Each tokenizer runs in a fresh process: "cold" is its first call, "warm" the best of ${REPS} calls ` +
      `after it; llama.cpp's times are of its tokenize call alone, inside its own process after the vocabulary ` +
      `is loaded. ratio = reference time / Hearth time (above 1: Hearth is faster), from the best wall times; ` +
      `"ratio by CPU time" is the same from the best CPU times of each process, which other load on a shared ` +
      `machine disturbs less (Hearth's includes V8's garbage-collector threads). "ids identical" compares ` +
      `Hearth's ids with the reference's; a difference is counted in regions where the two disagree before ` +
      `agreeing again. Decode is Hearth's \`decode(ids, { skipSpecial: false, cleanSpaces: false })\` of its own ids, MB/s of the ` +
      `original text; round-trip says whether it gives the text back exactly.`,
    '',
    ...lines,
  ].join('\n');
}

await main();
