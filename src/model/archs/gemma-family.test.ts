// gemma2 / gemma3 hyper-parameters as llama.cpp reads them (load_arch_hparams, set_swa_pattern,
// get_rope_freq_base/scale): which layers slide, the window, RoPE per layer, soft-caps, the attention scale.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GGUFMetadata } from '../../gguf/metadata.ts';
import { layerAttention, layerRope, readGemmaHParams, swaPattern, type GemmaArch } from './gemma-family.ts';
import { architecture } from './index.ts';

/** The keys every decoder file has, for `arch`, with `nLayer` layers. */
function md(arch: GemmaArch, nLayer: number, nEmbd = 1152, nHead = 4, headDim = 256): GGUFMetadata {
  return new GGUFMetadata()
    .string('general.architecture', arch)
    .u32(`${arch}.context_length`, 8192)
    .u32(`${arch}.embedding_length`, nEmbd)
    .u32(`${arch}.block_count`, nLayer)
    .u32(`${arch}.feed_forward_length`, 4 * nEmbd)
    .u32(`${arch}.attention.head_count`, nHead)
    .u32(`${arch}.attention.head_count_kv`, 1)
    .u32(`${arch}.attention.key_length`, headDim)
    .u32(`${arch}.attention.value_length`, headDim)
    .f32(`${arch}.attention.layer_norm_rms_epsilon`, 1e-6);
}

const locals = (s: boolean[]) => s.flatMap((v, il) => (v ? [il] : []));

test('swaPattern: the last layer of each period is global (llama.cpp set_swa_pattern)', () => {
  assert.deepEqual(swaPattern(5, 2), [true, false, true, false, true]);
  assert.deepEqual(locals(swaPattern(13, 6)), [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 12]);
  assert.deepEqual(swaPattern(3, 1), [false, false, false]);
  assert.deepEqual(swaPattern(3, 0), [true, true, true]);
});

test('gemma2 defaults: window 4096 on even layers, soft-caps 50 and 30, one RoPE base', () => {
  const hp = readGemmaHParams(md('gemma2', 4).f32('gemma2.rope.freq_base', 10_000), 'gemma2', 256_000);
  assert.deepEqual(hp.swaLayers, [true, false, true, false]);
  assert.equal(hp.window, 4096);
  assert.equal(hp.attnSoftcap, 50);
  assert.equal(hp.finalSoftcap, 30);
  assert.equal(hp.rope.order, 'neox');
  assert.deepEqual(hp.ropeSwa, { freqBase: 10_000, freqScale: 1 });
  assert.equal(hp.attnScale, 1 / 16);
  assert.deepEqual(layerAttention(hp, 0).mask, { window: 4096, softcap: 50 });
  assert.deepEqual(layerAttention(hp, 1).mask, { softcap: 50 });
  assert.equal(layerAttention(hp, 1).qScale, 1 / 16);
});

test('gemma2 from the file: window, pattern, soft-caps; the 27B scale is 1/sqrt(nEmbd/nHead)', () => {
  const m = md('gemma2', 3)
    .u32('gemma2.attention.sliding_window', 16)
    .u32('gemma2.attention.sliding_window_pattern', 3)
    .f32('gemma2.attn_logit_softcapping', 20)
    .f32('gemma2.final_logit_softcapping', 10);
  const hp = readGemmaHParams(m, 'gemma2', 100);
  assert.deepEqual(hp.swaLayers, [true, true, false]);
  assert.equal(hp.window, 16);
  assert.equal(hp.attnSoftcap, 20);
  assert.equal(hp.finalSoftcap, 10);
  const big = readGemmaHParams(md('gemma2', 46, 4608, 32, 128), 'gemma2', 100);
  assert.equal(big.attnScale, Math.fround(1 / 12)); // 4608 / 32 = 144, not head dim 128
});

test('gemma3 bases: local layers 10000 unscaled, global rope.freq_base with the linear scaling', () => {
  const m = md('gemma3', 7)
    .u32('gemma3.attention.sliding_window', 512)
    .f32('gemma3.rope.freq_base', 1_000_000)
    .string('gemma3.rope.scaling.type', 'linear')
    .f32('gemma3.rope.scaling.factor', 8);
  const hp = readGemmaHParams(m, 'gemma3', 100);
  assert.deepEqual(locals(hp.swaLayers), [0, 1, 2, 3, 4, 6]);
  assert.equal(hp.attnSoftcap, undefined);
  assert.equal(hp.finalSoftcap, undefined);
  assert.deepEqual([layerRope(hp, 0).freqBase, layerRope(hp, 0).freqScale], [10_000, 1]);
  assert.deepEqual([layerRope(hp, 5).freqBase, layerRope(hp, 5).freqScale], [1_000_000, 1 / 8]);
  assert.deepEqual(layerAttention(hp, 4).mask, { window: 512 });
  assert.equal(layerAttention(hp, 5).mask, undefined);
  const swaBase = readGemmaHParams(md('gemma3', 2).u32('gemma3.attention.sliding_window', 8).f32('gemma3.rope.freq_base_swa', 500), 'gemma3', 100);
  assert.equal(layerRope(swaBase, 0).freqBase, 500);
  const capped = readGemmaHParams(md('gemma3', 2).f32('gemma3.final_logit_softcapping', 30), 'gemma3', 100);
  assert.equal(capped.finalSoftcap, 30);
});

test('gemma3 without attention.sliding_window: every layer global; a per-layer pattern array is taken as is', () => {
  const hp = readGemmaHParams(md('gemma3', 7), 'gemma3', 100);
  assert.deepEqual(hp.swaLayers, new Array(7).fill(false));
  assert.equal(layerAttention(hp, 0).mask, undefined);
  const m = md('gemma3', 4).u32('gemma3.attention.sliding_window', 8);
  m.set('gemma3.attention.sliding_window_pattern', { type: 9, itemType: 7, value: [false, true, true] });
  assert.deepEqual(readGemmaHParams(m, 'gemma3', 100).swaLayers, [false, true, true, false]);
  assert.equal(readGemmaHParams(md('gemma3', 62, 5376, 32, 128), 'gemma3', 100).attnScale, Math.fround(1 / Math.sqrt(168)));
});

test('gemma2 with sliding_window 0 on sliding layers is a broken file', () => {
  assert.throws(() => readGemmaHParams(md('gemma2', 2).u32('gemma2.attention.sliding_window', 0), 'gemma2', 100),
    (e: Error & { code?: string }) => e.code === 'model_invalid' && /sliding_window/.test(e.message));
});

test('gemma2 and gemma3 are registered', () => {
  assert.ok(architecture('gemma2'));
  assert.ok(architecture('gemma3'));
  assert.ok(architecture('gemma3')!.tensors.layer.some((d) => d.base === 'attn_q_norm'));
  assert.ok(!architecture('gemma2')!.tensors.layer.some((d) => d.base === 'attn_q_norm'));
});
