// qwen2: Qwen 1.5 / 2 / 2.5. NeoX-order RoPE and biases on the Q, K and V projections.
import { registerArch } from './registry.ts';

registerArch({ name: 'qwen2', ropeOrder: 'neox', attnBias: true });
