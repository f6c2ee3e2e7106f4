// Every architecture file, imported for its registration.
import './bert.ts';
import './gemma2.ts';
import './gemma3.ts';
import './llama.ts';
import './nomic-bert.ts';
import './phi3.ts';
import './qwen2.ts';
import './qwen3.ts';
import './qwen3moe.ts';

export { architecture, registerArch, supportedArchs } from './registry.ts';
export type { Architecture, BuildOptions, DecoderModel, LayerPass, ModelWeights, TensorDecl, TensorTable, WeightSet } from './types.ts';
