// The CLIP vision encoder of an mmproj file and its projector (llama.cpp's tools/mtmd/models/llava.cpp), on the
// Backend ops, for every backend. One image of [3, S, S] normalised pixels becomes rows of the language model's
// embedding space:
//
//   patches   x[p] = W_patch · pixels of patch p (+ b_patch)      conv2d with stride = kernel = patch size, as a matmul
//   class     x[nPatches] = class_embd                           appended after the patches, as llava.cpp concatenates
//   positions x[r] += position_embd[r]                           learned, one row per position
//   pre-LN    x = LayerNorm(x)                                    (v.pre_ln, when present)
//   layers    x += attention(LN1(x)); x += ffn(LN2(x))            pre-norm, bidirectional, ffn = down(act(up x + b) ) + b
//             over layers 0 .. L-2 (llava takes the layer before the last) or up to the deepest feature_layer
//   post-LN   x = LayerNorm(x)                                    (v.post_ln, when present)
//   rows      the nPatches rows starting at row 1 (llava.cpp's `patches` input skips row 0 when there is a class row)
//   mlp       y = mm.2 · gelu(mm.0 · rows + b0) + b2
//
// The pass is a generator that yields each tensor it must read, as the decoder's is (../decoder.ts): encode drives
// it synchronously, encodeAsync awaits each read. The quick GELU and SiLU of some ViTs are applied on the host.

import { view, type Backend, type Tensor, type WeightTensor } from '../../kernels/backend.ts';
import { HearthError } from '../../util/errors.ts';
import { Activations, norm, selfAttention, type AttentionWeights, type BlockDims, type NormWeights } from '../blocks.ts';
import { KVCache } from '../kv-cache.ts';
import { matrix, optionalVector, vector, hostVector, type TensorSource } from '../weights.ts';
import { clipPatches, type ClipHParams } from './clip-hparams.ts';

interface ClipLayer {
  ln1: NormWeights;
  ln2: NormWeights;
  attn: AttentionWeights;
  up: WeightTensor; upBias?: Tensor;
  down: WeightTensor; downBias?: Tensor;
}

interface ClipWeights {
  patch: WeightTensor;
  patchBias?: Tensor;
  classEmbd?: Float32Array;
  position: WeightTensor;
  preLn?: NormWeights;
  postLn?: NormWeights;
  layers: ClipLayer[];
  mm0: WeightTensor; mm0Bias: Tensor;
  mm2?: WeightTensor; mm2Bias?: Tensor;
}

type Pass = Generator<Tensor, Float32Array, Float32Array>;

function optionalLayerNorm(src: TensorSource, base: string, n: number, b: Backend): NormWeights | undefined {
  const weight = optionalVector(src, `${base}.weight`, n, b);
  const bias = optionalVector(src, `${base}.bias`, n, b);
  return weight || bias ? { kind: 'layer', weight, bias } : undefined;
}

/** Loads the tensors of a clip file (names as clip-impl.h: v.patch_embd, v.blk.N.*, mm.0 / mm.2). */
function loadClipWeights(src: TensorSource, hp: ClipHParams, b: Backend): ClipWeights {
  const { nEmbd, nFF, patchSize: p } = hp;
  const nPatches = clipPatches(hp);
  const has = (name: string) => src.get(name) !== undefined;
  // the 4-D conv kernel [p, p, 3, nEmbd] is a [3p², nEmbd] matrix over im2col columns (c, ky, kx)
  const pe = src.get('v.patch_embd.weight');
  if (!pe) throw new HearthError('model_invalid', `${src.file}: tensor v.patch_embd.weight is missing`);
  const want = [p, p, 3, nEmbd];
  if (pe.shape.length !== 4 || pe.shape.some((d, i) => d !== want[i])) {
    throw new HearthError('model_invalid', `${src.file}: tensor v.patch_embd.weight has shape [${pe.shape.join(', ')}], expected [${want.join(', ')}]`);
  }
  const patch = b.adoptWeight({ name: 'v.patch_embd.weight', type: pe.type, cols: 3 * p * p, rows: nEmbd, data: pe.data });
  const classEmbd = has('v.class_embd') ? hostVector(src, 'v.class_embd', nEmbd) : undefined;
  const nPos = nPatches + (classEmbd ? 1 : 0);
  const layers: ClipLayer[] = [];
  for (let il = 0; il < hp.nLayer; il++) {
    const t = (n: string) => `v.blk.${il}.${n}`;
    const ln = (n: string): NormWeights => ({ kind: 'layer', weight: vector(src, t(`${n}.weight`), nEmbd, b), bias: optionalVector(src, t(`${n}.bias`), nEmbd, b) });
    const m = (n: string, cols: number, rows: number) => matrix(src, t(`${n}.weight`), cols, rows, b);
    const bias = (n: string, len: number) => optionalVector(src, t(`${n}.bias`), len, b);
    // older conversions swapped ffn_up and ffn_down (clip.cpp's is_ffn_swapped): take them by shape
    const swapped = src.get(t('ffn_down.weight'))?.shape[0] === nEmbd && nEmbd !== nFF;
    const [upName, downName] = swapped ? ['ffn_down', 'ffn_up'] : ['ffn_up', 'ffn_down'];
    layers.push({
      ln1: ln('ln1'),
      ln2: ln('ln2'),
      attn: {
        norm: { kind: 'layer' },
        wq: m('attn_q', nEmbd, nEmbd), wk: m('attn_k', nEmbd, nEmbd), wv: m('attn_v', nEmbd, nEmbd), wo: m('attn_out', nEmbd, nEmbd),
        bq: bias('attn_q', nEmbd), bk: bias('attn_k', nEmbd), bv: bias('attn_v', nEmbd), bo: bias('attn_out', nEmbd),
      },
      up: m(upName, nEmbd, nFF), upBias: bias(upName, nFF),
      down: m(downName, nFF, nEmbd), downBias: bias(downName, nEmbd),
    });
  }
  const mm0Info = src.get('mm.0.weight');
  if (!mm0Info) throw new HearthError('model_invalid', `${src.file}: tensor mm.0.weight is missing (the mlp projector)`);
  const hidden = mm0Info.shape[1];
  const hasMm2 = has('mm.2.weight');
  const out = hasMm2 ? hp.nEmbdOut : hidden;
  if (out !== hp.nEmbdOut) {
    throw new HearthError('model_invalid', `${src.file}: the projector gives rows of ${out}, the language model's embedding length is ${hp.nEmbdOut}`);
  }
  return {
    patch,
    patchBias: optionalVector(src, 'v.patch_embd.bias', nEmbd, b),
    classEmbd,
    position: matrix(src, 'v.position_embd.weight', nEmbd, nPos, b),
    preLn: optionalLayerNorm(src, 'v.pre_ln', nEmbd, b),
    postLn: optionalLayerNorm(src, 'v.post_ln', nEmbd, b),
    layers,
    mm0: matrix(src, 'mm.0.weight', nEmbd, hidden, b),
    mm0Bias: vector(src, 'mm.0.bias', hidden, b),
    mm2: hasMm2 ? matrix(src, 'mm.2.weight', hidden, hp.nEmbdOut, b) : undefined,
    mm2Bias: hasMm2 ? vector(src, 'mm.2.bias', hp.nEmbdOut, b) : undefined,
  };
}

/** x * sigmoid(1.702 x) (CLIP's quick GELU) or x * sigmoid(x) (SiLU), in place on the host. */
function hostActivation(x: Float32Array, kind: 'gelu_quick' | 'silu'): Float32Array {
  const a = kind === 'gelu_quick' ? 1.702 : 1;
  for (let i = 0; i < x.length; i++) x[i] = x[i] / (1 + Math.exp(-a * x[i]));
  return x;
}

/**
 * im2col of one normalised image [3, S, S] (planar): row p of the result is patch p's pixels in the conv kernel's
 * order (channel, ky, kx), patches in row-major order of the patch grid.
 */
export function patchColumns(pixels: Float32Array, imageSize: number, patchSize: number): Float32Array {
  const side = imageSize / patchSize;
  const cols = 3 * patchSize * patchSize;
  const out = new Float32Array(side * side * cols);
  for (let py = 0; py < side; py++) {
    for (let px = 0; px < side; px++) {
      let o = (py * side + px) * cols;
      for (let c = 0; c < 3; c++) {
        for (let ky = 0; ky < patchSize; ky++) {
          const row = c * imageSize * imageSize + (py * patchSize + ky) * imageSize + px * patchSize;
          for (let kx = 0; kx < patchSize; kx++) out[o++] = pixels[row + kx];
        }
      }
    }
  }
  return out;
}

export class ClipEncoder {
  readonly hp: ClipHParams;
  readonly backend: Backend;
  /** Rows each image becomes. */
  readonly nTokens: number;
  private readonly w: ClipWeights;
  private readonly dims: BlockDims;
  private readonly nPos: number;
  /** Layers run: up to the deepest feature layer, else all but the last. */
  private readonly nRun: number;
  private disposed = false;

  constructor(src: TensorSource, hp: ClipHParams, backend: Backend) {
    if (hp.featureLayers.length > 1) {
      throw new HearthError('unsupported_architecture', `${src.file}: stacked feature layers (${hp.featureLayers.join(', ')}) are not supported`);
    }
    this.hp = hp;
    this.backend = backend;
    this.w = loadClipWeights(src, hp, backend);
    this.nTokens = clipPatches(hp);
    this.nPos = this.nTokens + (this.w.classEmbd ? 1 : 0);
    this.nRun = hp.featureLayers.length ? hp.featureLayers[0] : hp.nLayer - 1;
    const { nEmbd, nHead, headDim, nFF, normEps } = hp;
    this.dims = { nEmbd, nHead, nHeadKv: nHead, headDim, nFF, normEps };
  }

  /** Rows [nTokens, nEmbdOut] for one image of normalised pixels [3, S, S]. Synchronous backends only. */
  encode(pixels: Float32Array): Float32Array {
    const pass = this.pass(pixels);
    for (let r = pass.next(); ; ) {
      if (r.done) return r.value;
      const got = this.backend.read(r.value);
      if (got instanceof Promise) {
        void got.catch(() => {});
        throw new HearthError('invalid_argument', `the ${this.backend.name} backend completes asynchronously: use encodeAsync`);
      }
      r = pass.next(got);
    }
  }

  async encodeAsync(pixels: Float32Array): Promise<Float32Array> {
    const pass = this.pass(pixels);
    for (let r = pass.next(); ; ) {
      if (r.done) return r.value;
      const b = this.backend;
      r = pass.next(await (b.readAsync ? b.readAsync(r.value) : b.read(r.value)));
    }
  }

  private *pass(pixels: Float32Array): Pass {
    if (this.disposed) throw new HearthError('invalid_argument', 'this vision encoder has been disposed');
    const { hp, w, dims, nPos } = this;
    const b = this.backend;
    const { nEmbd, nFF, imageSize, patchSize } = hp;
    if (pixels.length !== 3 * imageSize * imageSize) {
      throw new HearthError('invalid_argument', `vision encoder: ${pixels.length} values are not one [3, ${imageSize}, ${imageSize}] image`);
    }
    const nPatches = this.nTokens;
    const s = new Activations(b, dims, nPos);
    const cache = new KVCache(b, this.nRun, nPos, nEmbd, true);
    try {
      // patch embeddings, then the class row after them
      const cols = s.extra('patchCols', nPatches * 3 * patchSize * patchSize);
      b.upload(cols, patchColumns(pixels, imageSize, patchSize));
      b.matmul(w.patch, cols, nPatches, view(s.x, 0, nPatches * nEmbd));
      if (w.patchBias) b.addBias(view(s.x, 0, nPatches * nEmbd), w.patchBias, nEmbd, nPatches);
      if (w.classEmbd) b.upload(view(s.x, nPatches * nEmbd, nEmbd), w.classEmbd);
      const positions = Int32Array.from({ length: nPos }, (_, i) => i);
      const pos = s.extra('posRows', nPos * nEmbd);
      b.getRows(w.position, positions, pos);
      b.add(s.x, pos, nPos * nEmbd);
      if (w.preLn) {
        norm(b, w.preLn, hp.normEps, s.x, nEmbd, nPos, s.xb);
        b.scale(s.x, 0, nPos * nEmbd);
        b.add(s.x, s.xb, nPos * nEmbd);
      }
      const rows = { segments: [{ r0: 0, nTokens: nPos, pos0: 0, cache, tokens: false }], positions, n: nPos };
      const attnOpts = { mask: { causal: false } };
      for (let il = 0; il < this.nRun; il++) {
        const L = w.layers[il];
        norm(b, L.ln1, hp.normEps, s.x, nEmbd, nPos, s.xb);
        selfAttention(b, L.attn, dims, attnOpts, il, rows, s);   // xb = attention(LN1(x))
        b.add(s.x, s.xb, nPos * nEmbd);                            // x += xb
        norm(b, L.ln2, hp.normEps, s.x, nEmbd, nPos, s.xb);
        b.matmul(L.up, s.xb, nPos, s.up);                          // up = W_up LN2(x) + b
        if (L.upBias) b.addBias(s.up, L.upBias, nFF, nPos);
        if (hp.activation === 'gelu') b.gelu(s.up, nPos * nFF);
        else b.upload(s.up, hostActivation(yield s.up, hp.activation));
        b.matmul(L.down, s.up, nPos, s.xb);
        if (L.downBias) b.addBias(s.xb, L.downBias, nEmbd, nPos);
        b.add(s.x, s.xb, nPos * nEmbd);                            // x += ffn
      }
      if (w.postLn) {
        norm(b, w.postLn, hp.normEps, s.x, nEmbd, nPos, s.xb);
        b.scale(s.x, 0, nPos * nEmbd);
        b.add(s.x, s.xb, nPos * nEmbd);
      }
      // the patch rows the projector takes (row 1 on when there is a class row, as llava.cpp's `patches`)
      const first = w.classEmbd ? 1 : 0;
      const feats = view(s.x, first * nEmbd, nPatches * nEmbd);
      const hidden = w.mm0.rows;
      const h = s.extra('mm0', nPatches * hidden);
      b.matmul(w.mm0, feats, nPatches, h);
      b.addBias(h, w.mm0Bias, hidden, nPatches);
      b.gelu(h, nPatches * hidden);
      if (!w.mm2) return (yield h).slice(0, nPatches * hidden);
      const y = s.extra('mm2', nPatches * hp.nEmbdOut);
      b.matmul(w.mm2, h, nPatches, y);
      b.addBias(y, w.mm2Bias!, hp.nEmbdOut, nPatches);
      return (yield y).slice(0, nPatches * hp.nEmbdOut);
    } finally {
      cache.dispose();
      s.dispose();
    }
  }

  /** Frees nothing the backend does not own; the backend's disposal returns the weights. */
  dispose(): void {
    this.disposed = true;
  }
}
