// llama: Llama 2/3, Mistral, TinyLlama, SmolLM, TinyStories. Adjacent-pair ("normal") RoPE; Q/K/V biases only
// where a file has them.
import { readDecoderHParams } from '../hparams.ts';
import { buildLlamaFamily, llamaFamilyTensors } from './llama-family.ts';
import { registerArch } from './registry.ts';

registerArch({
  name: 'llama',
  readHParams: (m, nVocab) => readDecoderHParams(m, 'llama', 'norm', nVocab),
  tensors: llamaFamilyTensors({ qkvBias: 'optional' }),
  build: buildLlamaFamily,
});
