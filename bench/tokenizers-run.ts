// One tokenizer timing in a fresh process, so the "cold" call really is the first one (no JIT state
// or caches left by another vocabulary). Run by bench/tokenizers.ts:
//   node bench/tokenizers-run.ts hearth|hf <tokenizer file> <text file> <reps>
// prints one RunResult as JSON on stdout.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadTokenizer } from '../src/tokenizer/load.ts';

export type Impl = 'hearth' | 'hf';

export interface Timing {
  coldMs: number;
  /** Best of the calls after the cold one. */
  bestMs: number;
  /** The same in CPU time of this process (V8's helper threads for GC included). */
  coldCpuMs: number;
  bestCpuMs: number;
}

export interface RunResult {
  impl: Impl;
  loadMs: number;
  encode: Timing;
  decode: Timing | null;
  /** Decoding the ids gave back the text exactly. */
  roundTrip: boolean | null;
  nTokens: number;
  /** base64 of a little-endian Uint32Array: the ids of the last encode. */
  ids: string;
}

interface Codec {
  encode(text: string): ArrayLike<number>;
  decode?(ids: ArrayLike<number>): string;
}

function time<T>(fn: () => T): [T, number, number] {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return [r, ms, (c.user + c.system) / 1000];
}

function timeReps<T>(fn: () => T, reps: number): [T, Timing] {
  let [r, coldMs, coldCpuMs] = time(fn);
  let bestMs = Infinity;
  let bestCpuMs = Infinity;
  for (let k = 0; k < reps; k++) {
    let ms: number, cpuMs: number;
    [r, ms, cpuMs] = time(fn);
    bestMs = Math.min(bestMs, ms);
    bestCpuMs = Math.min(bestCpuMs, cpuMs);
  }
  return [r, { coldMs, bestMs, coldCpuMs, bestCpuMs }];
}

async function open(impl: Impl, path: string): Promise<Codec> {
  if (impl === 'hearth') {
    const tok = loadTokenizer(path);
    return {
      encode: (text) => tok.encode(text, { addBos: false, addEos: false }),
      decode: (ids) => tok.decode(ids, { skipSpecial: false, cleanSpaces: false }),
    };
  }
  // Tokenizers.js wants the parsed tokenizer.json and tokenizer_config.json; nothing is fetched.
  const { Tokenizer } = await import('@huggingface/tokenizers');
  const json = JSON.parse(readFileSync(path, 'utf8')) as object;
  const configPath = join(dirname(path), 'tokenizer_config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as object;
  const tok = new Tokenizer(json, config);
  return { encode: (text) => tok.encode(text, { add_special_tokens: false }).ids };
}

async function main(): Promise<void> {
  const [impl, path, textFile, repsArg] = process.argv.slice(2);
  if ((impl !== 'hearth' && impl !== 'hf') || !path || !textFile) {
    throw new Error('usage: node bench/tokenizers-run.ts hearth|hf <tokenizer file> <text file> [reps]');
  }
  const reps = Number(repsArg ?? 3);
  const text = readFileSync(textFile, 'utf8');
  const t0 = performance.now();
  const codec = await open(impl, path);
  const loadMs = performance.now() - t0;
  const [ids, encode] = timeReps(() => codec.encode(text), reps);
  let decode: Timing | null = null;
  let roundTrip: boolean | null = null;
  if (codec.decode) {
    const dec = codec.decode;
    let back: string;
    [back, decode] = timeReps(() => dec(ids), reps);
    roundTrip = back === text;
  }
  const u32 = Uint32Array.from(ids);
  const result: RunResult = {
    impl, loadMs, encode, decode, roundTrip, nTokens: ids.length,
    ids: Buffer.from(u32.buffer, u32.byteOffset, u32.byteLength).toString('base64'),
  };
  process.stdout.write(JSON.stringify(result));
}

if (import.meta.main) await main();
