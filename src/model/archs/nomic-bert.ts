// nomic-bert: nomic-embed-text v1 / v1.5 (llama.cpp's src/models/nomic-bert.cpp over bert.cpp's graph). No
// position table: NeoX RoPE on Q and K (rope.freq_base, the training context as n_ctx_orig); the fused attn_qkv
// without biases; SwiGLU FFN (ffn_gate, ffn_up, ffn_down) without biases; post-norm layers; see bert-family.ts.
import { buildBertFamily, bertFamilyTensors, readEncoderHParams, type BertFamilyOptions } from './bert-family.ts';
import { registerArch } from './registry.ts';

const options: BertFamilyOptions = { positions: 'rope', ffn: 'swiglu' };

registerArch({
  name: 'nomic-bert',
  readHParams: (m, nVocab) => readEncoderHParams(m, 'nomic-bert', nVocab, 'neox'),
  tensors: bertFamilyTensors(options),
  build: (hp, w) => buildBertFamily(options, hp, w),
});
