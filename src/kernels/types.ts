// The kernels layer's interface types: what model/ and engine/ import from kernels/, in one place.
// They are defined today beside the code that first needed them (the backend interface, the reference rope and
// attention) and re-exported here; their definitions move into this file as those files are rewritten.

export type { Backend, DType, MemoryReport, MemoryUse, Tensor, WeightTensor } from './backend.ts';
export type { AttentionShape } from './ref/attention.ts';
export type { AttentionOptions } from './ref/attention-options.ts';
export type { MoeRoute } from './ref/moe.ts';
export type { RopeOrder, RopeParams } from './ref/rope.ts';
