// gemma2: Gemma 2 (2B, 9B, 27B; llama.cpp's src/models/gemma2.cpp). Sandwich-normed layers with a GEGLU FFN,
// every other layer local (a 4096-position sliding window unless the file says otherwise), attention scores
// soft-capped at attn_logit_softcapping (50) and logits at final_logit_softcapping (30), the head tied to the
// token embedding. See gemma-family.ts.
import { buildGemma, gemmaTensors, readGemmaHParams } from './gemma-family.ts';
import { registerArch } from './registry.ts';

registerArch({
  name: 'gemma2',
  readHParams: (m, nVocab) => readGemmaHParams(m, 'gemma2', nVocab),
  tensors: gemmaTensors('gemma2'),
  build: (hp, w) => buildGemma('gemma2', hp, w),
});
