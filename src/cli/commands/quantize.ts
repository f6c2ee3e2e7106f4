// hearth quantize IN.gguf OUT.gguf TYPE

import { resolve } from 'node:path';
import { realpathSync } from 'node:fs';
import { parse } from '../args.ts';
import { openGGUFModel } from '../../gguf/split.ts';
import { typeName } from '../../gguf/ggml-types.ts';
import { HearthError } from '../../util/errors.ts';
import { quantizeModel, QUANTIZE_TARGETS } from '../../quant/quantize-model.ts';
import { useWasmWeightEncoder } from '../../kernels/wasm/weight-encoder.ts';
import type { Command } from '../main.ts';

export const command: Command = {
  summary: 'quantize a GGUF model',
  async run(argv) {
    const { values, positionals } = parse(argv, { 'allow-requantize': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
    if (values.help || positionals.length !== 3) {
      const msg = `Usage: hearth quantize IN.gguf OUT.gguf TYPE [--allow-requantize]\n  TYPE: ${QUANTIZE_TARGETS.join(', ')}\n`;
      if (values.help) {
        process.stdout.write(msg);
        return 0;
      }
      throw new HearthError('invalid_argument', `expected IN.gguf OUT.gguf TYPE\n${msg}`);
    }
    const [inPath, outPath, type] = positionals;
    const real = (p: string) => { try { return realpathSync(p); } catch { return resolve(p); } };
    if (real(inPath) === real(outPath)) {
      throw new HearthError('invalid_argument', `IN and OUT are the same file (${real(inPath)}): write the quantized model to another path`);
    }
    const source = sourceType(inPath);
    if (source !== undefined && !values['allow-requantize']) {
      throw new HearthError('invalid_argument', `${inPath} is already quantized (${source}); quantize from its F32/F16/BF16 original, ` +
        'or pass --allow-requantize to quantize it again (quality drops further)');
    }
    useWasmWeightEncoder(); // the same bytes as the TypeScript encoders, faster; those stay where it cannot load
    const t0 = performance.now();
    const r = quantizeModel(inPath, outPath, type);
    const counts = new Map<string, number>();
    for (const t of r.tensors) counts.set(t.to, (counts.get(t.to) ?? 0) + 1);
    process.stderr.write(`hearth: ${r.tensors.length} tensors (${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}); ` +
      `${(r.bytesIn / 1e6).toFixed(2)} MB -> ${(r.bytesOut / 1e6).toFixed(2)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    process.stdout.write(`${outPath}\n`);
    return 0;
  },
};

/** llama_ftype values of unquantized files: all F32, mostly F16, mostly BF16. */
const UNQUANTIZED_FTYPES = new Set([0, 1, 32]);
const UNQUANTIZED_TYPES = new Set(['F32', 'F16', 'BF16']);

/** The quantized type a file already has (general.file_type, else its matrices' types), or undefined when none. */
function sourceType(path: string): string | undefined {
  let f;
  try {
    f = openGGUFModel(path);
  } catch {
    return undefined; // quantizeModel reports a missing or broken file
  }
  try {
    const ftype = f.metadata.getNumber('general.file_type', undefined);
    if (ftype !== undefined && UNQUANTIZED_FTYPES.has(ftype)) return undefined;
    const quantized = [...new Set(f.tensors.filter((t) => t.shape.length >= 2).map((t) => typeName(t.type)))].filter((n) => !UNQUANTIZED_TYPES.has(n));
    if (quantized.length) return quantized.join(', ');
    return ftype === undefined ? undefined : `file type ${ftype}`;
  } finally {
    f.close();
  }
}
