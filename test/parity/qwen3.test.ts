// Hearth against llama.cpp on qwen3 and qwen3moe (src/model/archs/qwen3.ts, qwen3moe.ts, src/model/moe.ts):
// synthetic random-weight models of real proportions (test/fixtures/synthetic-families.ts), 2 layers each, the
// Llama 2 vocabulary with Qwen's chat tokens appended (32004 tokens) and Qwen3's chat template:
//   qwen3     Qwen3-0.6B's widths: 1024 wide, 16 query / 8 KV heads of 128 (nHead × headDim = 2048 ≠ nEmbd),
//             FFN 3072, tied head; per-head Q/K RMSNorm before NeoX rope;
//   qwen3moe  Qwen3-30B-A3B halved: 1024 wide, 16 / 4 heads of 128, 16 experts of 512, 4 used per token.
// A 25-token prompt then 6 greedy steps, llama.cpp's tokens fed to Hearth (parity-harness.ts), on the reference
// and the cpu backend. At prefill the prompt's 100 routed rows (25 tokens × 4) spread over the experts as batches
// of 1 to 16 rows, with experts that take none in layer 1 (counted with Hearth's router): every path of the
// by-expert matmuls; decode steps route one row to each of 4 experts.
//
// Bounds (bounds.ts): F32 weights and 2 layers, so any step may differ by an f16 KV-cache rounding flip
// (LOOSE_MAX_NMSE.F32); max over steps measured 1.7e-8 – 2.7e-8 (medians ~1e-8) on ref and cpu, llama.cpp on ggml-cpu-zen4. Greedy must agree
// at every step: the engines differ by summation noise (RMS logit error ~6e-4 at logit std 4), the smallest
// top-1/top-2 gap here is 0.285 (qwen3) and 0.311 (qwen3moe) in llama.cpp's logits. The router stays F32 in every
// file (as llama-quantize keeps ffn_gate_inp), so top-k picks the same experts in both unless two router
// probabilities tie to summation noise, which these prompts do not hit.
// Q8_0 (cpu): an activation within summation noise of a rounding edge lands in the neighbouring integer, and the
// KV cache carries that into later steps: every step moves (LOOSE_MAX_NMSE.Q8_0 1e-3; measured max 2.9e-4 (qwen3) and 2.3e-4 (qwen3moe));
// near-ties are excused where the ggml library packs activations with its portable rounding (packsLikeHearth).
//
// Measured alone on 2 shared cores: 15-30 s with the synthetic models cached (building the four files once: ~40 s more).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GGMLType } from '../../src/gguf/ggml-types.ts';
import { openGGUF } from '../../src/gguf/reader.ts';
import { GGUFMetadata } from '../../src/gguf/index.ts';
import { chatTextTokens, renderChat } from '../../src/chat/prompt.ts';
import { openModelInfo } from '../../src/engine/model-info.ts';
import type { BackendName } from '../../src/engine/types.ts';
import { createRefBackend } from '../../src/kernels/ref/backend.ts';
import { architecture } from '../../src/model/archs/index.ts';
import { loadWeights, type TensorSource } from '../../src/model/weights.ts';
import type { Qwen3MoeHParams } from '../../src/model/archs/qwen3moe.ts';
import { tokenizerFromGGUF } from '../../src/tokenizer/index.ts';
import type { GGMLTypeId } from '../../src/gguf/ggml-types.ts';
import { familyVocab, syntheticFamilyPath } from '../fixtures/synthetic-families.ts';
import { referenceTokenize, requireReference } from '../reference/client.ts';
import { packsLikeHearth, LOOSE_MAX_NMSE } from './bounds.ts';
import { assertParity, compareWithReference, describeParity } from './parity-harness.ts';

const TEXT = 'The quick brown fox jumps over the lazy dog, and then it runs far away into the deep dark forest.';
const N_PREDICT = 6;
const BACKENDS: BackendName[] = ['ref', 'cpu'];
const F32_BOUNDS = { max: LOOSE_MAX_NMSE.F32, allowNearTies: false };

function prompt(path: string): number[] {
  return openModelInfo(path).tokenizer.encode(TEXT, { addBos: true });
}

for (const family of ['qwen3', 'qwen3moe'] as const) {
  for (const backend of BACKENDS) {
    test(`${family} F32, 2 layers, ${backend}: last-position logits and greedy continuation match llama.cpp`, (t) => {
      if (!requireReference(t)) return;
      const path = syntheticFamilyPath({ family });
      const r = compareWithReference(path, [prompt(path)], N_PREDICT, { backend });
      t.diagnostic(describeParity(`${family} F32 ${backend}`, r));
      assertParity(`${family} F32 ${backend}`, r, F32_BOUNDS);
    });
  }
  test(`${family} Q8_0, 2 layers, cpu: logits within the Q8 rounding-flip bound, greedy continuation matches llama.cpp`, (t) => {
    if (!requireReference(t)) return;
    const path = syntheticFamilyPath({ family, weightType: 'Q8_0' });
    const r = compareWithReference(path, [prompt(path)], N_PREDICT, { backend: 'cpu' });
    t.diagnostic(describeParity(`${family} Q8_0 cpu`, r));
    assertParity(`${family} Q8_0 cpu`, r, { max: LOOSE_MAX_NMSE.Q8_0, allowNearTies: !packsLikeHearth(r.cpuVariant, GGMLType.Q8_0) });
  });
}

test('qwen3moe hyper-parameters: experts, experts used, expert FFN width (defaulting as llama.cpp does)', () => {
  const path = syntheticFamilyPath({ family: 'qwen3moe' });
  const f = openGGUF(path);
  try {
    const arch = architecture('qwen3moe');
    assert.ok(arch, 'qwen3moe is registered');
    const hp = arch.readHParams(f.metadata, 32004) as Qwen3MoeHParams;
    assert.deepEqual([hp.nExpert, hp.nExpertUsed, hp.nFFExp, hp.rope.order], [16, 4, 512, 'neox']);
    // without expert_feed_forward_length: feed_forward_length / expert_used_count
    const md = GGUFMetadata.from(f.metadata);
    md.delete('qwen3moe.expert_feed_forward_length');
    assert.equal((arch.readHParams(md, 32004) as Qwen3MoeHParams).nFFExp, 3072 / 4);
    md.u32('qwen3moe.expert_used_count', 17);
    assert.throws(() => arch.readHParams(md, 32004), /expert_used_count/);
  } finally {
    f.close();
  }
});

test('qwen3 pooling_type: an embedding file (Qwen3-Embedding, pooling last) is described with its pooling', () => {
  const path = syntheticFamilyPath({ family: 'qwen3' });
  const f = openGGUF(path);
  try {
    const arch = architecture('qwen3')!;
    assert.equal(arch.readHParams(f.metadata, 32004).pooling, undefined, 'a chat file says no pooling');
    const md = GGUFMetadata.from(f.metadata);
    md.u32('qwen3.pooling_type', 3);
    const hp = arch.readHParams(md, 32004);
    assert.equal(hp.pooling, 'last');
    const backend = createRefBackend();
    const src: TensorSource = {
      file: path,
      get(name) {
        const info = f.findTensor(name);
        if (!info) return undefined;
        const data = new Uint8Array(info.byteSize);
        f.readTensorInto(info, data);
        return { shape: info.shape, type: info.type as GGMLTypeId, data };
      },
    };
    const model = arch.build(hp, loadWeights(src, arch.tensors, hp, backend));
    assert.equal(model.pooling, 'last');
    assert.ok(model.layers[0].attn.qNorm && model.layers[0].attn.kNorm, 'per-head Q/K norms are loaded');
    backend.dispose();
    md.u32('qwen3.pooling_type', 9);
    assert.throws(() => arch.readHParams(md, 32004), /pooling_type 9/);
  } finally {
    f.close();
  }
});

test('qwen3 chat template renders as Qwen3 writes it, tokenizes as llama.cpp does; <|im_end|> ends generation', (t) => {
  const md = familyVocab('qwen3');
  const tok = tokenizerFromGGUF(md);
  const chatTemplate = md.getString('tokenizer.chat_template', undefined);
  assert.ok(chatTemplate, 'the fixture carries the Qwen3 chat template');
  const messages = [
    { role: 'system' as const, content: 'Be brief.' },
    { role: 'user' as const, content: 'Hello' },
    // an earlier turn's reasoning is dropped from the history
    { role: 'assistant' as const, content: '<think>\nA greeting.\n</think>\n\nHi there.' },
    { role: 'user' as const, content: 'Name a colour.' },
  ];
  const rendered = renderChat({ tokenizer: tok, chatTemplate }, messages);
  assert.equal(rendered,
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there.<|im_end|>\n' +
    '<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n');
  const end = tok.encode('<|im_end|>', { parseSpecial: true, addBos: false });
  assert.equal(end.length, 1);
  assert.ok(tok.isEog(end[0]), '<|im_end|> is an end-of-generation token');
  const start = tok.encode('<|im_start|>', { parseSpecial: true, addBos: false });
  assert.ok(start.length === 1 && !tok.isEog(start[0]), '<|im_start|> is one token and does not end generation');
  if (!requireReference(t)) return;
  const path = syntheticFamilyPath({ family: 'qwen3' });
  // the fixture's Llama vocabulary adds a BOS (Qwen3's own does not): both engines follow the vocabulary
  const theirs = referenceTokenize(path, rendered!, { parseSpecial: true, vocabOnly: true, addBos: tok.addBos });
  assert.deepEqual(chatTextTokens(tok, rendered!), theirs);
});
