// qwen3moe: Qwen3 mixture-of-experts (30B-A3B, 235B-A22B; llama.cpp's src/models/qwen3moe.cpp). Qwen3's attention
// (per-head Q/K RMSNorm before NeoX RoPE, archs/qwen3.ts) and, in place of the dense FFN, a mixture of experts
// (../moe.ts): router ffn_gate_inp [nEmbd, nExpert] -> softmax -> expert_used_count experts per token, their
// probabilities renormalised to sum 1 (build_moe_ffn's norm_w, true for qwen3moe; no expert_weights_scale) ->
// SwiGLU experts ffn_gate_exps / ffn_up_exps [nEmbd, nFFExp, nExpert], ffn_down_exps [nFFExp, nEmbd, nExpert]
// -> the weighted sum. Each 3-D expert tensor loads as nExpert matrices viewing the file's bytes.
// Per layer: rmsnorm -> attention (as qwen3) -> residual -> rmsnorm -> mixture of experts -> residual.
// expert_feed_forward_length defaults to feed_forward_length / expert_used_count, as llama.cpp's.

import { HearthError } from '../../util/errors.ts';
import type { GGUFMetadata } from '../../gguf/metadata.ts';
import { attentionBlock } from '../blocks.ts';
import { readDecoderHParams, type DecoderHParams } from '../hparams.ts';
import { moeBlock, type MoeOptions, type MoeWeights } from '../moe.ts';
import { llamaFamilyModel } from './llama-family.ts';
import { qwen3AttentionTensors, qwen3AttentionWeights, qwen3GlobalTensors } from './qwen3.ts';
import { registerArch } from './registry.ts';
import type { DecoderModel, ModelWeights, TensorTable } from './types.ts';

export interface Qwen3MoeHParams extends DecoderHParams {
  nExpert: number;
  nExpertUsed: number;
  /** Each expert's FFN width. */
  nFFExp: number;
}

type H = Qwen3MoeHParams;

function readQwen3MoeHParams(m: GGUFMetadata, nVocab: number): H {
  const hp = readDecoderHParams(m, 'qwen3moe', 'neox', nVocab);
  const nExpert = m.getNumber('qwen3moe.expert_count', 0);
  const nExpertUsed = m.getNumber('qwen3moe.expert_used_count', 0);
  const bad = (msg: string) => new HearthError('model_invalid', `${m.source}: ${msg}`);
  if (!Number.isInteger(nExpert) || nExpert <= 0) throw bad(`qwen3moe needs expert_count > 0 (got ${nExpert})`);
  if (!Number.isInteger(nExpertUsed) || nExpertUsed <= 0 || nExpertUsed > nExpert) {
    throw bad(`qwen3moe needs 0 < expert_used_count <= expert_count (got ${nExpertUsed} of ${nExpert})`);
  }
  const nFFExp = m.getNumber('qwen3moe.expert_feed_forward_length', 0) || Math.floor(hp.nFF / nExpertUsed);
  if (!Number.isInteger(nFFExp) || nFFExp <= 0) throw bad(`expert_feed_forward_length ${nFFExp} must be a positive integer`);
  return { ...hp, nExpert, nExpertUsed, nFFExp };
}

const tensors: TensorTable<H> = {
  global: qwen3GlobalTensors(),
  layer: [
    ...qwen3AttentionTensors(),
    { base: 'ffn_norm', kind: 'vector', shape: (hp) => [hp.nEmbd] },
    { base: 'ffn_gate_inp', kind: 'matrix', shape: (hp) => [hp.nEmbd, hp.nExpert] },
    { base: 'ffn_gate_exps', kind: 'matrix', shape: (hp) => [hp.nEmbd, hp.nFFExp, hp.nExpert] },
    { base: 'ffn_up_exps', kind: 'matrix', shape: (hp) => [hp.nEmbd, hp.nFFExp, hp.nExpert] },
    { base: 'ffn_down_exps', kind: 'matrix', shape: (hp) => [hp.nFFExp, hp.nEmbd, hp.nExpert] },
  ],
};

function buildQwen3Moe(hp: H, w: ModelWeights): DecoderModel {
  const attnOpts = { rope: hp.rope };
  const moe: MoeOptions = { nExpert: hp.nExpert, nUsed: hp.nExpertUsed, normalize: true };
  const layers = w.layers.map((L) => {
    const attn = qwen3AttentionWeights(L);
    const experts: MoeWeights = {
      norm: { kind: 'rms', weight: L.vector('ffn_norm') },
      router: L.matrix('ffn_gate_inp'),
      gate: L.matrices('ffn_gate_exps'), up: L.matrices('ffn_up_exps'), down: L.matrices('ffn_down_exps'),
    };
    return { attn, experts };
  });
  // the blocks' dense gate/up buffers are never used here: size them for one expert's width, not feed_forward_length
  return llamaFamilyModel({ ...hp, nFF: hp.nFFExp }, w, layers, (p, il) => {
    const L = layers[il];
    attentionBlock(p.backend, L.attn, hp, attnOpts, il, p, p.s);
    moeBlock(p.backend, L.experts, hp, moe, p.n, p.s);
  });
}

registerArch({ name: 'qwen3moe', readHParams: readQwen3MoeHParams, tensors, build: buildQwen3Moe });
