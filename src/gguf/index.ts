// Public API of the GGUF reader and writer.
export {
  openGGUF, parseGGUF, GGUFFile, GGUF_MAGIC, GGUF_DEFAULT_ALIGNMENT, GGUF_MAX_DIMS,
  type GGUFTensorInfo,
} from './reader.ts';
export { openGGUFModel, splitPartName, splitPartNames, parseSplitName, type GGUFModelFile } from './split.ts';
export { writeGGUF, serializeGGUF, type GGUFTensorInput, type GGUFWriteInput } from './writer.ts';
export { GGUFMetadata, ggufArray } from './metadata.ts';
export {
  GGUFValueType, valueTypeName,
  type GGUFValue, type GGUFScalarValue, type GGUFArrayValue, type GGUFArrayItems,
  type GGUFValueTypeId, type GGUFValueTypeName,
} from './value-types.ts';
export {
  GGMLType, TYPE_LAYOUTS, typeLayout, typeLayoutByName, typeName, rowBytes,
  type GGMLTypeId, type GGMLTypeName, type TypeLayout,
} from './ggml-types.ts';
