// Weight lookup with shape checks: every tensor a model needs is named once and checked against hparams.

import { HearthError } from '../util/errors.ts';
import { rowBytes, type GGMLTypeId } from '../gguf/ggml-types.ts';
import type { Backend, Tensor, WeightTensor } from '../kernels/types.ts';
import { dequantizeTensor } from '../quant/index.ts';
import type { ModelWeights, TensorDecl, TensorTable, WeightSet } from './archs/types.ts';
import { tensorName } from './tensor-names.ts';

/** Where a model's tensors come from (a GGUF file, or memory in tests). */
export interface TensorSource {
  readonly file: string;
  /** Shape in ggml order (shape[0] is the row length), type and the packed bytes; undefined when absent. */
  get(name: string): { shape: readonly number[]; type: GGMLTypeId; data: Uint8Array } | undefined;
}

function shapeStr(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

function fetch(src: TensorSource, name: string, shape: readonly number[]) {
  const t = src.get(name);
  if (!t) throw new HearthError('model_invalid', `${src.file}: tensor ${name} is missing`);
  const same = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]) ||
    // 1-D tensors may be stored as [n, 1]
    (shape.length === 1 && t.shape.length === 2 && t.shape[0] === shape[0] && t.shape[1] === 1);
  if (!same) {
    throw new HearthError('model_invalid', `${src.file}: tensor ${name} has shape ${shapeStr(t.shape)}, expected ${shapeStr(shape)}`);
  }
  return t;
}

/** A 2-D matrix [cols, rows] in ggml order, kept packed, taken into the backend's memory. */
export function matrix(src: TensorSource, name: string, cols: number, rows: number, backend: Backend): WeightTensor {
  const t = fetch(src, name, [cols, rows]);
  return backend.adoptWeight({ name, type: t.type, cols, rows, data: t.data });
}

/**
 * A matrix stored as parts: a 3-D [cols, rows, n] tensor as n matrices of [cols, rows], or a 2-D [cols, rows]
 * one cut into row ranges of `split` rows each. The parts view the bytes read from the file.
 */
export function matrixParts(src: TensorSource, name: string, shape: readonly number[], split: readonly number[] | undefined,
  backend: Backend): WeightTensor[] {
  const t = fetch(src, name, shape);
  const cols = shape[0];
  const sizes = shape.length === 3 ? Array<number>(shape[2]).fill(shape[1]) : split ?? [shape[1]];
  const total = sizes.reduce((a, b) => a + b, 0);
  const perPart = shape.length === 3 ? shape[1] * shape[2] : shape[1];
  if (total !== perPart || sizes.some((r) => !Number.isInteger(r) || r <= 0)) {
    throw new HearthError('internal', `${name}: parts of ${sizes.join(' + ')} rows do not make up ${perPart}`);
  }
  const row = rowBytes(t.type, cols);
  const parts: WeightTensor[] = [];
  let r0 = 0;
  sizes.forEach((rows, i) => {
    const data = t.data.subarray(r0 * row, (r0 + rows) * row);
    parts.push(backend.adoptWeight({ name: `${name}[${i}]`, type: t.type, cols, rows, data }));
    r0 += rows;
  });
  return parts;
}

/** A 1-D vector decoded to f32 on the host (rope frequency factors, which the host turns into angles). */
export function hostVector(src: TensorSource, name: string, n: number): Float32Array {
  const t = fetch(src, name, [n]);
  return dequantizeTensor(t.type, t.data, n);
}

/** A 1-D vector (norm weights, biases) decoded to f32 and uploaded to backend memory once, at load. */
export function vector(src: TensorSource, name: string, n: number, backend: Backend): Tensor {
  const t = backend.alloc(n, 'f32', 'weights');
  backend.upload(t, hostVector(src, name, n));
  return t;
}

export function optionalVector(src: TensorSource, name: string, n: number, backend: Backend): Tensor | undefined {
  return src.get(name) ? vector(src, name, n, backend) : undefined;
}

type Loaded = WeightTensor | WeightTensor[] | Tensor | Float32Array | undefined;

/** Every tensor of `decls` (one layer's, or the global ones) loaded and shape-checked, behind accessors. */
function loadSet<H>(src: TensorSource, decls: readonly TensorDecl<H>[], hp: H, backend: Backend, il?: number): WeightSet {
  const got = new Map<string, { decl: TensorDecl<H>; value: Loaded; name: string }>();
  for (const decl of decls) {
    const suffix = decl.suffix ?? 'weight';
    const name = tensorName(decl.base, suffix, il);
    let value: Loaded;
    if (decl.optional && !src.get(name)) value = undefined;
    else {
      const shape = decl.shape(hp);
      if (decl.kind === 'matrix' && (shape.length === 3 || decl.split)) value = matrixParts(src, name, shape, decl.split?.(hp), backend);
      else if (decl.kind === 'matrix') value = matrix(src, name, shape[0], shape[1], backend);
      else if (decl.kind === 'vector') value = vector(src, name, shape[0], backend);
      else value = hostVector(src, name, shape[0]);
    }
    got.set(`${decl.base}.${suffix}`, { decl, value, name });
  }
  function find(base: string, suffix: 'weight' | 'bias', kind: TensorDecl<H>['kind'], optional: boolean, parts = false): Loaded {
    const e = got.get(`${base}.${suffix}`);
    const isParts = !!e && (e.decl.split !== undefined || e.decl.shape(hp).length === 3);
    if (!e || e.decl.kind !== kind || isParts !== parts) {
      const what = parts ? 'split or 3-D matrix' : kind;
      throw new HearthError('internal', `tensor ${tensorName(base, suffix, il)} is not declared as a ${what} in its architecture's table`);
    }
    if (e.value === undefined && !optional) throw new HearthError('model_invalid', `${src.file}: tensor ${e.name} is missing`);
    return e.value;
  }
  return {
    matrix: (base) => find(base, 'weight', 'matrix', false) as WeightTensor,
    optionalMatrix: (base) => find(base, 'weight', 'matrix', true) as WeightTensor | undefined,
    matrices: (base) => find(base, 'weight', 'matrix', false, true) as WeightTensor[],
    optionalMatrices: (base) => find(base, 'weight', 'matrix', true, true) as WeightTensor[] | undefined,
    vector: (base, suffix = 'weight') => find(base, suffix, 'vector', false) as Tensor,
    optionalVector: (base, suffix = 'weight') => find(base, suffix, 'vector', true) as Tensor | undefined,
    host: (base, suffix = 'weight') => find(base, suffix, 'host', true) as Float32Array | undefined,
  };
}

/** An architecture's tensor table loaded from `src`: the global tensors, then each of nLayer layers'. */
export function loadWeights<H extends { nLayer: number }>(src: TensorSource, table: TensorTable<H>, hp: H, backend: Backend): ModelWeights {
  const global = loadSet(src, table.global, hp, backend);
  const layers: WeightSet[] = [];
  for (let il = 0; il < hp.nLayer; il++) layers.push(loadSet(src, table.layer, hp, backend, il));
  return { global, layers };
}
