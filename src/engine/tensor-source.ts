// A model's tensors read from its GGUF file (a split model: from the part holding each), for model/weights.ts.

import type { GGUFModelFile } from '../gguf/split.ts';
import type { GGMLTypeId } from '../gguf/ggml-types.ts';
import type { Backend } from '../kernels/types.ts';
import type { TensorSource } from '../model/types.ts';

/**
 * Tensors read from the file (a split model: from the part holding each) once each: matrices into memory the backend provides, vectors (norms, biases) into
 * host memory, from where they are decoded to f32 and uploaded once.
 */
export function fileTensorSource(f: GGUFModelFile, backend: Backend): TensorSource {
  const loaded = new Map<string, Uint8Array>();
  return {
    file: f.parts.length > 1 ? `${f.name} (with its other ${f.parts.length - 1} parts)` : f.name,
    get(name) {
      const info = f.findTensor(name);
      if (!info) return undefined;
      let data = loaded.get(name);
      if (!data) {
        const isMatrix = info.shape.length >= 2 && info.shape.slice(1).some((d) => d > 1);
        data = isMatrix ? backend.allocWeight(info.byteSize) : new Uint8Array(info.byteSize);
        f.readTensorInto(info, data);
        loaded.set(name, data);
      }
      return { shape: info.shape, type: info.type as GGMLTypeId, data };
    },
  };
}

