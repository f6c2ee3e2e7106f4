// The public library API of Hearth: explicit named re-exports only.
export { HearthError, ERROR_CODES, isHearthError, type ErrorCode } from './util/errors.ts';
export { GGMLType, TYPE_LAYOUTS, typeLayout, typeLayoutByName, typeName, rowBytes } from './gguf/ggml-types.ts';
