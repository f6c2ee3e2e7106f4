// The llama-family forward pass resident on the GPU: weights uploaded once, KV caches in GPU buffers, a whole
// batch recorded into one command buffer, and only the logits (or the final hidden states) read back.
// Same steps, in the same order, as DecoderForward in src/model/archs/llama-family.ts:
//   get-rows -> per layer: rmsnorm -> q,k,v (+bias) -> rope -> kv append -> attention -> output -> residual
//               -> rmsnorm -> gate/up -> swiglu -> down -> residual -> final rmsnorm -> output head.
// Asynchronous (read-back is mapAsync); runs wherever a GPUDevice exists: a browser, or the Node worker of host.ts.

/// <reference types="@webgpu/types" />

import { HearthError } from '../../util/errors.ts';
import type { RopeParams } from '../ref/rope.ts';
import type { WeightTensor } from '../backend.ts';
import type { GpuDevice } from './gpu-device.ts';
import { KernelSet } from './kernel-set.ts';
import { Recorder, type GpuKv } from './recorder.ts';
import { ropeTable } from './rope-table.ts';
import { destroyWeight, uploadWeight, type GpuWeight, type Notice } from './weights.ts';

/** The hyper-parameters the pass needs (a subset of DecoderHParams). */
export interface GpuDecoderDims {
  nVocab: number; nEmbd: number; nLayer: number; nFF: number;
  nHead: number; nHeadKv: number; headDim: number; normEps: number;
}

/** Host-side weights, as loadDecoderWeights returns them (structurally). */
export interface HostDecoderWeights {
  tokEmbd: WeightTensor;
  outputNorm: Float32Array;
  output: WeightTensor;
  layers: {
    attnNorm: Float32Array; ffnNorm: Float32Array;
    wq: WeightTensor; wk: WeightTensor; wv: WeightTensor; wo: WeightTensor;
    bq?: Float32Array; bk?: Float32Array; bv?: Float32Array;
    wGate: WeightTensor; wUp: WeightTensor; wDown: WeightTensor;
  }[];
}

interface GpuLayer {
  attnNorm: GPUBuffer; ffnNorm: GPUBuffer;
  wq: GpuWeight; wk: GpuWeight; wv: GpuWeight; wo: GpuWeight;
  bq?: GPUBuffer; bk?: GPUBuffer; bv?: GPUBuffer;
  wGate: GpuWeight; wUp: GpuWeight; wDown: GpuWeight;
}

/** One sequence's KV cache on the GPU: per layer [nCtx, kvDim] for K and V. */
export class GpuKvCache {
  readonly nCtx: number;
  readonly kvDim: number;
  readonly f16: boolean;
  readonly layers: GpuKv[];
  constructor(ks: KernelSet, nLayer: number, nCtx: number, kvDim: number, f16: boolean) {
    this.nCtx = nCtx;
    this.kvDim = kvDim;
    this.f16 = f16;
    const kind = ks.kvStorage(f16);
    const bytes = nCtx * kvDim * (kind === 'f32' ? 4 : 2);
    this.layers = Array.from({ length: nLayer }, (_, il) => ({
      k: ks.storage(bytes, `cache.k.${il}`), v: ks.storage(bytes, `cache.v.${il}`), kind,
    }));
  }
  destroy(): void {
    for (const l of this.layers) { l.k.destroy(); l.v.destroy(); }
  }
}

export interface GpuSegment {
  tokens: ArrayLike<number>;
  pos0: number;
  cache: GpuKvCache;
}

/** Activation buffers for up to n tokens. */
class Scratch {
  readonly n: number;
  readonly bufs: GPUBuffer[] = [];
  readonly x; readonly xb; readonly q; readonly k; readonly v; readonly att; readonly gate; readonly up; readonly ids; readonly rope;
  constructor(ks: KernelSet, d: GpuDecoderDims, nRot: number, n: number) {
    const qDim = d.nHead * d.headDim;
    const kvDim = d.nHeadKv * d.headDim;
    const f = (elems: number, label: string) => { const b = ks.storage(elems * 4, label); this.bufs.push(b); return b; };
    this.n = n;
    this.x = f(n * d.nEmbd, 'x');                          // [n, nEmbd] residual stream
    this.xb = f(n * Math.max(d.nEmbd, qDim), 'xb');        // [n, nEmbd] normed input / projection output
    this.q = f(n * qDim, 'q');                              // [n, nHead, headDim]
    this.k = f(n * kvDim, 'k');                             // [n, nHeadKv, headDim]
    this.v = f(n * kvDim, 'v');
    this.att = f(n * qDim, 'att');                          // [n, nHead, headDim]
    this.gate = f(n * d.nFF, 'gate');                       // [n, nFF]
    this.up = f(n * d.nFF, 'up');
    this.ids = f(n, 'ids');                                 // [n] token ids (u32)
    this.rope = f(n * nRot, 'rope');                        // [n, nRot/2] (cos, sin)
  }
  destroy(): void { for (const b of this.bufs) b.destroy(); }
}

export class WebGPUForward {
  readonly ks: KernelSet;
  readonly dims: GpuDecoderDims;
  readonly rope: RopeParams;
  /** Bytes of weights on the GPU. */
  readonly weightBytes: number;
  private readonly tokEmbd: GpuWeight;
  private readonly output: GpuWeight;
  private readonly outputNorm: GPUBuffer;
  private readonly layers: GpuLayer[];
  private scratch?: Scratch;
  private logits?: GPUBuffer;
  private queue: Promise<unknown> = Promise.resolve();

  /** Upload every weight (a tied output head is uploaded once). */
  constructor(gd: GpuDevice, dims: GpuDecoderDims, rope: RopeParams, w: HostDecoderWeights, notice: Notice = () => {}) {
    this.ks = new KernelSet(gd);
    this.dims = dims;
    this.rope = rope;
    const uploaded = new Map<WeightTensor, GpuWeight>();
    const mat = (t: WeightTensor) => {
      let g = uploaded.get(t);
      if (!g) { g = uploadWeight(this.ks, t, notice); uploaded.set(t, g); }
      return g;
    };
    const vec = (v: Float32Array, label: string) => this.ks.upload(v, label);
    const opt = (v: Float32Array | undefined, label: string) => (v ? vec(v, label) : undefined);
    this.tokEmbd = mat(w.tokEmbd);
    this.output = mat(w.output);
    this.outputNorm = vec(w.outputNorm, 'output_norm');
    this.layers = w.layers.map((L, il) => ({
      attnNorm: vec(L.attnNorm, `attn_norm.${il}`), ffnNorm: vec(L.ffnNorm, `ffn_norm.${il}`),
      wq: mat(L.wq), wk: mat(L.wk), wv: mat(L.wv), wo: mat(L.wo),
      bq: opt(L.bq, `bq.${il}`), bk: opt(L.bk, `bk.${il}`), bv: opt(L.bv, `bv.${il}`),
      wGate: mat(L.wGate), wUp: mat(L.wUp), wDown: mat(L.wDown),
    }));
    this.weightBytes = [...uploaded.values()].reduce((s, g) => s + g.bytes, 0);
  }

  createCache(nCtx: number, f16: boolean): GpuKvCache {
    return new GpuKvCache(this.ks, this.dims.nLayer, nCtx, this.dims.nHeadKv * this.dims.headDim, f16);
  }

  private scratchFor(n: number): Scratch {
    if (!this.scratch || this.scratch.n < n) {
      this.scratch?.destroy();
      this.scratch = new Scratch(this.ks, this.dims, this.rope.nRot, n);
    }
    return this.scratch;
  }

  /** Output rows per output-head submission: the logits of one must fit one binding. */
  private logitRows(nOut: number): number {
    const perRow = this.dims.nVocab * 4;
    const cap = Math.max(1, Math.floor(Math.min(this.ks.gd.limits.maxStorageBufferBindingSize, 64 << 20) / perRow));
    const rows = Math.min(nOut, cap);
    if (!this.logits || this.logits.size < rows * perRow) {
      this.logits?.destroy();
      this.logits = this.ks.storage(rows * perRow, 'logits');
    }
    return rows;
  }

  /**
   * Several sequences in one pass, as DecoderForward.forwardBatch: logits [nOut, nVocab] for each segment's last
   * token (default) or every token (`allLogits`); with `hidden`, the final normed hidden states [nOut, nEmbd].
   * Calls are serialised: each waits for the previous one.
   */
  forwardBatch(segments: readonly GpuSegment[], allLogits = false, hidden = false): Promise<Float32Array> {
    const run = this.queue.then(() => this.ks.checked('forward', () => this.run(segments, allLogits, hidden)));
    this.queue = run.catch(() => {});
    return run;
  }

  private async run(segments: readonly GpuSegment[], allLogits: boolean, hidden: boolean): Promise<Float32Array> {
    const d = this.dims;
    const { nEmbd, nHead, nHeadKv, headDim, nFF } = d;
    const qDim = nHead * headDim;
    const kvDim = nHeadKv * headDim;
    const n = segments.reduce((s, g) => s + g.tokens.length, 0);
    if (n === 0) throw new HearthError('invalid_argument', 'forward: no tokens');
    const ids = new Uint32Array(n);
    const positions = new Int32Array(n);
    const starts: number[] = [];
    let row = 0;
    for (const g of segments) {
      if (g.tokens.length === 0) throw new HearthError('invalid_argument', 'forward: a sequence has no tokens');
      if (g.pos0 + g.tokens.length > g.cache.nCtx) {
        throw new HearthError('context_length_exceeded', `${g.pos0 + g.tokens.length} tokens do not fit in the context of ${g.cache.nCtx}`);
      }
      starts.push(row);
      for (let i = 0; i < g.tokens.length; i++, row++) {
        const id = g.tokens[i];
        if (!Number.isInteger(id) || id < 0 || id >= d.nVocab) {
          throw new HearthError('invalid_argument', `token id ${id} is outside the vocabulary (0..${d.nVocab - 1})`);
        }
        ids[row] = id;
        positions[row] = g.pos0 + i;
      }
    }
    const s = this.scratchFor(n);
    const ks = this.ks;
    ks.write(s.ids, 0, ids);
    ks.write(s.rope, 0, ropeTable(this.rope, positions));
    const neox = this.rope.order === 'neox';
    const attnDims = { nHead, nHeadKv, headDim, scale: 1 / Math.sqrt(headDim) };
    const rec = new Recorder(ks);

    rec.getRows(this.tokEmbd, s.ids, n, s.x, 0);
    for (const L of this.layers) {
      const il = this.layers.indexOf(L);
      // attention block
      rec.rmsNorm(s.x, 0, L.attnNorm, d.normEps, nEmbd, n, s.xb, 0);
      rec.matmul(L.wq, s.xb, 0, n, s.q, 0);
      rec.matmul(L.wk, s.xb, 0, n, s.k, 0);
      rec.matmul(L.wv, s.xb, 0, n, s.v, 0);
      if (L.bq) rec.addBias(s.q, 0, L.bq, qDim, n);
      if (L.bk) rec.addBias(s.k, 0, L.bk, kvDim, n);
      if (L.bv) rec.addBias(s.v, 0, L.bv, kvDim, n);
      rec.rope(s.q, 0, n, nHead, headDim, this.rope.nRot, neox, s.rope);
      rec.rope(s.k, 0, n, nHeadKv, headDim, this.rope.nRot, neox, s.rope);
      segments.forEach((g, gi) => {
        const r0 = starts[gi];
        const kv = g.cache.layers[il];
        rec.kvStore(s.k, s.v, r0 * kvDim, g.tokens.length * kvDim, kv, g.pos0 * kvDim);
        rec.attention(s.q, r0 * qDim, kv, g.tokens.length, g.pos0, attnDims, s.att, r0 * qDim);
      });
      rec.matmul(L.wo, s.att, 0, n, s.xb, 0);
      rec.add(s.x, 0, s.xb, 0, n * nEmbd);
      // feed-forward block
      rec.rmsNorm(s.x, 0, L.ffnNorm, d.normEps, nEmbd, n, s.xb, 0);
      rec.matmul(L.wGate, s.xb, 0, n, s.gate, 0);
      rec.matmul(L.wUp, s.xb, 0, n, s.up, 0);
      rec.swiglu(s.gate, s.up, n * nFF);
      rec.matmul(L.wDown, s.gate, 0, n, s.xb, 0);
      rec.add(s.x, 0, s.xb, 0, n * nEmbd);
    }

    // final norm, for each sequence's last token only unless every position is wanted
    let nOut: number;
    if (allLogits) {
      nOut = n;
      rec.rmsNorm(s.x, 0, this.outputNorm, d.normEps, nEmbd, n, s.xb, 0);
    } else {
      nOut = segments.length;
      segments.forEach((g, gi) => {
        const last = starts[gi] + g.tokens.length - 1;
        rec.rmsNorm(s.x, last * nEmbd, this.outputNorm, d.normEps, nEmbd, 1, s.xb, gi * nEmbd);
      });
    }
    if (hidden) {
      rec.submit();
      return ks.readF32(s.xb, 0, nOut * nEmbd);
    }
    const out = new Float32Array(nOut * d.nVocab);
    const step = this.logitRows(nOut);
    for (let r = 0; r < nOut; r += step) {
      const rows = Math.min(step, nOut - r);
      rec.matmul(this.output, s.xb, r * nEmbd, rows, this.logits!, 0);
      rec.submit();
      out.set(await ks.readF32(this.logits!, 0, rows * d.nVocab), r * d.nVocab);
    }
    return out;
  }

  destroy(): void {
    const seen = new Set<GpuWeight>();
    const w = (g: GpuWeight) => { if (!seen.has(g)) { seen.add(g); destroyWeight(g); } };
    w(this.tokEmbd);
    w(this.output);
    this.outputNorm.destroy();
    for (const L of this.layers) {
      for (const g of [L.wq, L.wk, L.wv, L.wo, L.wGate, L.wUp, L.wDown]) w(g);
      for (const b of [L.attnNorm, L.ffnNorm, L.bq, L.bk, L.bv]) b?.destroy();
    }
    this.scratch?.destroy();
    this.logits?.destroy();
  }
}
