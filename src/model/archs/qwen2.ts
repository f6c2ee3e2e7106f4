// qwen2: Qwen 1.5 / 2 / 2.5. NeoX-order RoPE and biases on the Q, K and V projections.
import { readDecoderHParams } from '../hparams.ts';
import { buildLlamaFamily, llamaFamilyTensors } from './llama-family.ts';
import { registerArch } from './registry.ts';

registerArch({
  name: 'qwen2',
  readHParams: (m, nVocab) => readDecoderHParams(m, 'qwen2', 'neox', nVocab),
  tensors: llamaFamilyTensors({ qkvBias: 'required' }),
  build: buildLlamaFamily,
});
