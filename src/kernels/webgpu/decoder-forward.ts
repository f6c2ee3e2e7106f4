// DecoderForward's contract, run on the GPU: forward / forwardBatch block until the worker's GPU pass is done,
// forwardAsync / forwardBatchAsync await it. It extends DecoderForward so a LoadedModel can hold it where it
// holds the CPU pass; every public method is overridden, the inherited host-side path is never used.
// Each CPU KVCache handed in is paired with a GPU cache in the worker (created at first use, freed when the
// KVCache is garbage-collected); the CPU cache's own arrays are never written.

import { DecoderForward, type DecoderWeights, type Segment } from '../../model/archs/llama-family.ts';
import type { DecoderHParams } from '../../model/hparams.ts';
import type { KVCache } from '../../engine/kv-cache.ts';
import type { WeightTensor } from '../backend.ts';
import type { WebGPUBackend, WebGPUHost } from './host.ts';
import type { Request } from './worker.ts';

let nextCacheId = 1;

export class WebGPUDecoderForward extends DecoderForward {
  readonly host: WebGPUHost;
  /** Bytes of weights on the GPU, and what was converted on upload. */
  readonly weightBytes: number;
  readonly notices: readonly string[];
  private readonly cacheIds = new WeakMap<KVCache, number>();
  private readonly freed = new FinalizationRegistry<number>((cacheId) => this.host.notify({ op: 'free', cacheId }));

  /** Uploads the weights; their packed bytes move to the worker (the WeightTensors' data arrays are emptied). */
  constructor(hp: DecoderHParams, w: DecoderWeights, backend: WebGPUBackend) {
    super(hp, w, backend);
    this.host = backend.host;
    const transfer = new Set<ArrayBuffer>();
    const move = (t: WeightTensor) => {
      const b = t.data.buffer;
      if (b instanceof ArrayBuffer && t.data.byteOffset === 0 && t.data.byteLength === b.byteLength) transfer.add(b);
    };
    for (const t of [w.tokEmbd, w.output, ...w.layers.flatMap((L) => [L.wq, L.wk, L.wv, L.wo, L.wGate, L.wUp, L.wDown])]) move(t);
    const weights = {
      ...w,
      // views into a larger buffer would carry the whole buffer along: send only their bytes
      tokEmbd: own(w.tokEmbd, transfer), output: w.output === w.tokEmbd ? undefined : own(w.output, transfer),
      layers: w.layers.map((L) => ({
        ...L, wq: own(L.wq, transfer), wk: own(L.wk, transfer), wv: own(L.wv, transfer), wo: own(L.wo, transfer),
        wGate: own(L.wGate, transfer), wUp: own(L.wUp, transfer), wDown: own(L.wDown, transfer),
      })),
    };
    weights.output ??= weights.tokEmbd;
    const req: Request = { op: 'load', dims: hp, rope: { ...hp.rope, freqFactors: w.ropeFreqs }, weights: weights as never };
    const r = this.host.callSync(req, [...transfer]) as { weightBytes: number; notices: string[] };
    this.weightBytes = r.weightBytes;
    this.notices = r.notices;
    for (const n of new Set(r.notices)) process.stderr.write(`hearth: ${n}\n`);
  }

  private request(segments: readonly Segment[], allLogits: boolean, hidden: boolean): Request {
    return {
      op: 'forward', allLogits, hidden,
      segments: segments.map((g) => {
        let cacheId = this.cacheIds.get(g.cache);
        if (cacheId === undefined) {
          cacheId = nextCacheId++;
          this.cacheIds.set(g.cache, cacheId);
          this.freed.register(g.cache, cacheId);
        }
        return { tokens: Int32Array.from(g.tokens), pos0: g.pos0, cacheId, nCtx: g.cache.nCtx, f16: g.cache.f16 };
      }),
    };
  }

  override forward(tokens: ArrayLike<number>, pos0: number, cache: KVCache, allLogits = false): Float32Array {
    return this.forwardBatch([{ tokens, pos0, cache }], allLogits);
  }

  override forwardBatch(segments: readonly Segment[], allLogits = false, hidden = false): Float32Array {
    return this.host.callSync(this.request(segments, allLogits, hidden)) as Float32Array;
  }

  forwardAsync(tokens: ArrayLike<number>, pos0: number, cache: KVCache, allLogits = false): Promise<Float32Array> {
    return this.forwardBatchAsync([{ tokens, pos0, cache }], allLogits);
  }

  forwardBatchAsync(segments: readonly Segment[], allLogits = false, hidden = false): Promise<Float32Array> {
    return this.host.call(this.request(segments, allLogits, hidden)) as Promise<Float32Array>;
  }

  /** Free the GPU memory and stop the worker; the model cannot run afterwards. */
  close(): void {
    this.host.close();
  }
}

/** The weight with data in an ArrayBuffer of its own (moved), or a copy of just its bytes. */
function own(t: WeightTensor, transfer: Set<ArrayBuffer>): WeightTensor {
  return transfer.has(t.data.buffer as ArrayBuffer) ? t : { ...t, data: t.data.slice() };
}
