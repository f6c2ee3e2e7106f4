// Shared by the backend tests: backend tensors from host arrays and back, whatever the backend.

import type { Backend, DType, Tensor } from './backend.ts';

/** A new tensor of `be` holding data (rounded to half for f16). */
export function tensorFrom(be: Backend, data: Float32Array, dtype: DType = 'f32'): Tensor {
  const t = be.alloc(data.length, dtype, 'scratch');
  be.upload(t, data);
  return t;
}

/** A tensor's values, awaiting backends that complete later. */
export async function readBack(be: Backend, t: Tensor): Promise<Float32Array> {
  return be.readAsync ? be.readAsync(t) : be.read(t);
}

/** A tensor's values on a synchronous backend. */
export function readNow(be: Backend, t: Tensor): Float32Array {
  const r = be.read(t);
  if (r instanceof Promise) throw new Error(`${be.name} reads asynchronously`);
  return r;
}
