// Quantize a whole GGUF model, tensor by tensor, as llama-quantize does: 2-D weights take the target type
// (or a mix such as Q4_K_M), 1-D tensors (norms, biases) stay F32, and rows whose length does not fit the
// type's block fall back to a compatible type. A split model (its first part given) is read from every part and
// written as one whole file.

import type { GGUFTensorInfo } from '../gguf/reader.ts';
import { openGGUFModel, SPLIT_COUNT, SPLIT_NO, SPLIT_TENSORS_COUNT } from '../gguf/split.ts';
import { writeGGUF } from '../gguf/writer.ts';
import { GGUFMetadata } from '../gguf/metadata.ts';
import { GGMLType, typeLayout, typeName, type GGMLTypeId } from '../gguf/ggml-types.ts';
import { HearthError } from '../util/errors.ts';
import { dequantizeTensor, quantizeTensor, quantTraits } from './index.ts';

const T = GGMLType;

/** llama_ftype values written to general.file_type. */
const FILE_TYPES: Record<string, { ftype: number; base: GGMLTypeId; mix?: 'M' }> = {
  F32: { ftype: 0, base: T.F32 }, F16: { ftype: 1, base: T.F16 }, BF16: { ftype: 32, base: T.BF16 },
  Q4_0: { ftype: 2, base: T.Q4_0 }, Q4_1: { ftype: 3, base: T.Q4_1 }, Q8_0: { ftype: 7, base: T.Q8_0 },
  Q5_0: { ftype: 8, base: T.Q5_0 }, Q5_1: { ftype: 9, base: T.Q5_1 },
  Q2_K: { ftype: 10, base: T.Q2_K }, Q3_K: { ftype: 11, base: T.Q3_K }, Q4_K: { ftype: 14, base: T.Q4_K },
  Q5_K: { ftype: 16, base: T.Q5_K }, Q6_K: { ftype: 18, base: T.Q6_K },
  Q4_K_M: { ftype: 15, base: T.Q4_K, mix: 'M' }, Q5_K_M: { ftype: 17, base: T.Q5_K, mix: 'M' },
};

export const QUANTIZE_TARGETS = Object.keys(FILE_TYPES);

// llama.cpp's use_more_bits: the first and last eighth of the layers, and every third layer between.
function useMoreBits(il: number, nLayer: number): boolean {
  return il < nLayer / 8 || il >= (7 * nLayer) / 8 || (il - Math.floor(nLayer / 8)) % 3 === 2;
}

// A type the row length cannot take is replaced as llama.cpp does (IQ4_NL is not implemented: Q4_0 stands in).
const FALLBACK: Partial<Record<number, GGMLTypeId>> = {
  [T.Q2_K]: T.Q4_0, [T.Q3_K]: T.Q4_0, [T.Q4_K]: T.Q5_0, [T.Q5_K]: T.Q5_1, [T.Q6_K]: T.Q8_0,
};

/** The type a tensor gets under a target: the rules of llama.cpp's llama_tensor_get_type that we implement. */
export function tensorTargetType(name: string, shape: readonly number[], target: string, nLayer: number): GGMLTypeId | undefined {
  const spec = FILE_TYPES[target];
  if (shape.length < 2 || !name.endsWith('.weight')) return undefined; // norms, biases: keep
  let type: GGMLTypeId = spec.base;
  if (spec.mix === 'M') {
    const il = Number(/^blk\.(\d+)\./.exec(name)?.[1] ?? -1);
    if (name === 'output.weight') type = T.Q6_K;
    else if ((name.endsWith('attn_v.weight') || name.endsWith('ffn_down.weight')) && il >= 0 && useMoreBits(il, nLayer)) type = T.Q6_K;
  }
  const fits = (t: number) => shape[0] % (typeLayout(t)?.blockSize ?? 1) === 0;
  if (!fits(type)) type = FALLBACK[type] ?? T.F16;
  if (!fits(type)) type = T.F16;
  return type;
}

export interface QuantizeReport {
  tensors: { name: string; from: string; to: string }[];
  bytesIn: number;
  bytesOut: number;
}

export function quantizeModel(inPath: string, outPath: string, target: string): QuantizeReport {
  const key = target.toUpperCase();
  if (!FILE_TYPES[key]) {
    throw new HearthError('invalid_argument', `unknown quantization type "${target}"; choose one of ${QUANTIZE_TARGETS.join(', ')}`);
  }
  const src = openGGUFModel(inPath);
  try {
    const md = GGUFMetadata.from(src.metadata, outPath);
    // one file out: split keys kept would send a loader looking for parts beside it
    for (const k of [SPLIT_NO, SPLIT_COUNT, SPLIT_TENSORS_COUNT]) md.delete(k);
    const arch = md.getString('general.architecture', '');
    const nLayer = md.getNumber(`${arch}.block_count`, 0);
    md.u32('general.file_type', FILE_TYPES[key].ftype);
    md.u32('general.quantization_version', 2);
    const report: QuantizeReport = { tensors: [], bytesIn: src.parts.reduce((s, p) => s + p.size, 0), bytesOut: 0 };
    const tensors = src.tensors.map((info: GGUFTensorInfo) => {
      const want = tensorTargetType(info.name, info.shape, key, nLayer);
      const to = want === undefined || want === info.type ? (info.type as GGMLTypeId) : want;
      report.tensors.push({ name: info.name, from: typeName(info.type), to: typeName(to) });
      return {
        name: info.name,
        shape: info.shape,
        type: to,
        data: () => {
          const bytes = new Uint8Array(info.byteSize);
          src.readTensorInto(info, bytes);
          if (to === info.type) return bytes;
          if (!quantTraits(info.type)) {
            throw new HearthError('unsupported_type', `${inPath}: tensor ${info.name} is ${typeName(info.type)}, which cannot be decoded`);
          }
          return quantizeTensor(to, dequantizeTensor(info.type, bytes, info.nElements), info.shape[0]);
        },
      };
    });
    report.bytesOut = writeGGUF(outPath, { metadata: md, tensors, alignment: src.parts[0]!.alignment });
    return report;
  } finally {
    src.close();
  }
}

