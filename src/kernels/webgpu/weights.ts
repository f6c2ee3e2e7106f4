// Weights on the GPU: uploaded once, kept packed in their file type when a kernel exists for it, otherwise
// dequantized on upload to F16 (quantized types) or F32 (BF16 and wider floats), with a notice. A tensor larger
// than one storage binding allows is split by rows into parts, each its own buffer; every kernel that reads
// weights runs once per part.

/// <reference types="@webgpu/types" />

import { GGMLType, rowBytes, typeName } from '../../gguf/ggml-types.ts';
import { quantTraitsOrThrow } from '../../quant/index.ts';
import { f32ToF16 } from '../../util/f16.ts';
import { HearthError } from '../../util/errors.ts';
import type { WeightTensor } from '../backend.ts';
import type { KernelSet } from './kernel-set.ts';
import { quantDecl } from './shaders/quant-decls.ts';

export interface WeightPart {
  readonly buffer: GPUBuffer;
  /** First row of the tensor held by this part, and how many. */
  readonly row0: number;
  readonly rows: number;
}

export interface GpuWeight {
  readonly name: string;
  /** The type as stored on the GPU (the file's type, or F16/F32 after conversion). */
  readonly type: number;
  readonly fileType: number;
  readonly cols: number;
  readonly rows: number;
  readonly rowBytes: number;
  readonly parts: readonly WeightPart[];
  readonly bytes: number;
}

/** The type a tensor is kept in on the GPU. */
export function gpuTypeFor(type: number): number {
  if (quantDecl(type)) return type;
  return type === GGMLType.BF16 || type === GGMLType.F64 ? GGMLType.F32 : GGMLType.F16;
}

/** Decode packed rows of `type` to F16 or F32 bytes. */
function convertRows(w: WeightTensor, to: number): Uint8Array {
  const traits = quantTraitsOrThrow(w.type);
  const rb = rowBytes(w.type, w.cols);
  const row = new Float32Array(w.cols);
  if (to === GGMLType.F32) {
    const out = new Float32Array(w.rows * w.cols);
    for (let r = 0; r < w.rows; r++) traits.dequantize(w.data.subarray(r * rb, (r + 1) * rb), out.subarray(r * w.cols, (r + 1) * w.cols), w.cols);
    return new Uint8Array(out.buffer);
  }
  const out = new Uint16Array(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++) {
    traits.dequantize(w.data.subarray(r * rb, (r + 1) * rb), row, w.cols);
    for (let c = 0; c < w.cols; c++) out[r * w.cols + c] = f32ToF16(row[c]);
  }
  return new Uint8Array(out.buffer);
}

export type Notice = (message: string) => void;

/**
 * Upload one weight; `notice` hears about conversions. `partLimit` caps the bytes per part below the adapter's
 * binding limit (tests of the split path).
 */
export function uploadWeight(ks: KernelSet, w: WeightTensor, notice: Notice, partLimit = Infinity): GpuWeight {
  const type = gpuTypeFor(w.type);
  let data = w.data;
  if (type !== w.type) {
    notice(`webgpu: no ${typeName(w.type)} kernel; ${w.name} is dequantized to ${typeName(type)} on upload`);
    data = convertRows(w, type);
  }
  const rb = rowBytes(type, w.cols);
  if (data.byteLength < rb * w.rows) {
    throw new HearthError('model_invalid', `${w.name}: ${data.byteLength} bytes for ${w.rows} rows of ${rb}`);
  }
  const limit = Math.min(ks.gd.limits.maxStorageBufferBindingSize, ks.gd.limits.maxBufferSize - 8, partLimit);
  const rowsPerPart = Math.floor(limit / rb);
  if (rowsPerPart < 1) {
    throw new HearthError('out_of_memory', `webgpu: one row of ${w.name} (${rb} bytes) exceeds this adapter's storage binding limit (${limit} bytes)`);
  }
  const parts: WeightPart[] = [];
  for (let row0 = 0; row0 < w.rows; row0 += rowsPerPart) {
    const rows = Math.min(rowsPerPart, w.rows - row0);
    const buffer = ks.storage(rows * rb, `${w.name}[${row0}..${row0 + rows})`);
    ks.write(buffer, 0, data.subarray(row0 * rb, (row0 + rows) * rb));
    parts.push({ buffer, row0, rows });
  }
  return { name: w.name, type, fileType: w.type, cols: w.cols, rows: w.rows, rowBytes: rb, parts, bytes: rb * w.rows };
}

export function destroyWeight(w: GpuWeight): void {
  for (const p of w.parts) p.buffer.destroy();
}
