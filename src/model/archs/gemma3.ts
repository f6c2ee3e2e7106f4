// gemma3: Gemma 3 text decoders (270M, 1B, 4B, 12B, 27B; llama.cpp's src/models/gemma3.cpp). gemma2's layer
// with per-head RMSNorm of Q and K before RoPE and no attention soft-cap; five local layers to one global
// (when the file gives attention.sliding_window), local layers on RoPE base rope.freq_base_swa (10000) without
// rope scaling, global ones on rope.freq_base with the file's scaling; the logits soft-capped only when the file
// gives final_logit_softcapping. See gemma-family.ts.
import { buildGemma, gemmaTensors, readGemmaHParams } from './gemma-family.ts';
import { registerArch } from './registry.ts';

registerArch({
  name: 'gemma3',
  readHParams: (m, nVocab) => readGemmaHParams(m, 'gemma3', nVocab),
  tensors: gemmaTensors('gemma3'),
  build: (hp, w) => buildGemma('gemma3', hp, w),
});
