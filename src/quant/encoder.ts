// A faster encoder that quantizeTensor may route through: one that writes exactly the bytes of the reference
// encoders in ref/ for the types it lists (the wasm weight encoder, src/kernels/wasm/weight-encoder.ts, is
// one). This layer cannot import the kernels, so the kernels layer installs its encoder here
// (useWasmWeightEncoder, called by `hearth quantize` and the test fixtures); without one, ref/ encodes.

export interface TensorEncoder {
  /** Shown in messages and benchmarks ("wasm"). */
  readonly name: string;
  /** Whether encode handles this type id. */
  supports(type: number): boolean;
  /**
   * Encode src as rows of rowLen elements of `type` into out (rowBytes(type, rowLen) bytes per row), the same
   * bytes as the reference. Arguments are already checked by quantizeTensor.
   */
  encode(type: number, src: Float32Array, rowLen: number, out: Uint8Array): void;
}

let installed: TensorEncoder | undefined;

/** Route quantizeTensor through `encoder` for the types it supports; undefined goes back to the reference. */
export function setTensorEncoder(encoder: TensorEncoder | undefined): void {
  installed = encoder;
}

/** The installed encoder when it handles `type`. */
export function tensorEncoderFor(type: number): TensorEncoder | undefined {
  return installed?.supports(type) ? installed : undefined;
}
