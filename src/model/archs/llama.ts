// llama: Llama 2/3, Mistral, TinyLlama, SmolLM, TinyStories. Adjacent-pair ("normal") RoPE, no attention biases.
import { registerArch } from './registry.ts';

registerArch({ name: 'llama', ropeOrder: 'norm', attnBias: false });
