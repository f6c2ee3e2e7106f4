// bert: BertModel encoders (bge, MiniLM, e5, gte) and BERT rerankers (bge-reranker: a classification head over
// the [CLS] row, pooling rank) — llama.cpp's src/models/bert.cpp. Learned absolute positions, Q/K/V with biases,
// GELU FFN with biases, post-norm layers; see bert-family.ts.
import { buildBertFamily, bertFamilyTensors, readEncoderHParams, type BertFamilyOptions } from './bert-family.ts';
import { registerArch } from './registry.ts';

const options: BertFamilyOptions = { positions: 'learned', ffn: 'gelu' };

registerArch({
  name: 'bert',
  readHParams: (m, nVocab) => readEncoderHParams(m, 'bert', nVocab, 'norm'),
  tensors: bertFamilyTensors(options),
  build: (hp, w) => buildBertFamily(options, hp, w),
});
