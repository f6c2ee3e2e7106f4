// Every architecture file, imported for its registration.
import './llama.ts';
import './qwen2.ts';

export { archSpec, supportedArchs, type ArchSpec } from './registry.ts';
