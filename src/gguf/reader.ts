/**
 * GGUF reader (versions 2 and 3, little-endian).
 *
 *   const f = openGGUF('model.gguf');           // parses the header only; tensor data stays on disk
 *   f.metadata.getNumber('llama.block_count');  // typed getters throw model_invalid naming key and file
 *   const t = f.tensor('token_embd.weight');    // { name, shape, type, offset, byteSize, nElements }
 *   f.readTensorInto(t, dst);                   // straight into a caller's buffer (e.g. wasm memory)
 *   f.close();
 *
 * `parseGGUF(bytes)` reads a file already in memory with the same parser. Every fault in a file is a
 * HearthError 'gguf_invalid' (or 'gguf_unsupported' for versions/types this build does not know) whose
 * message names the file, the fault and the byte offset.
 *
 * Layout: magic "GGUF", u32 version, u64 tensor_count, u64 kv_count, kv_count × (string key, u32 type,
 * value), tensor_count × (string name, u32 n_dims, n_dims × u64 ne, u32 ggml type, u64 offset), then
 * the data section at the header end rounded up to `general.alignment` (default 32). A file with no
 * tensors may end right after the last value, without that padding.
 */

import { HearthError } from '../util/errors.ts';
import { typeLayout, typeName } from './ggml-types.ts';
import { FileSource, MemorySource, type ByteSource } from './byte-source.ts';
import { HeaderCursor } from './header-cursor.ts';
import { GGUFMetadata } from './metadata.ts';
import { GGUFValueType as T, valueTypeName, type GGUFValue } from './value-types.ts';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGUF_MAX_DIMS = 4;

export interface GGUFTensorInfo {
  readonly name: string;
  /** ggml order: shape[0] is the row length (the fastest-varying dimension). */
  readonly shape: readonly number[];
  /** GGMLTypeId. */
  readonly type: number;
  /** Absolute file offset of the tensor's data. */
  readonly offset: number;
  readonly byteSize: number;
  readonly nElements: number;
}

// Smallest encodings, used to reject counts before reading: a KV is a key length (8), a type (4) and at
// least one value byte; a tensor info is a name length (8), n_dims (4), one dim (8), type (4), offset (8).
const MIN_KV_BYTES = 13;
const MIN_TENSOR_INFO_BYTES = 32;
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class GGUFFile {
  readonly name: string;
  readonly version: number;
  /** File size in bytes. */
  readonly size: number;
  readonly alignment: number;
  /** Absolute offset of the data section (header end rounded up to the alignment). */
  readonly dataOffset: number;
  readonly metadata: GGUFMetadata;
  /** In file order. */
  readonly tensors: readonly GGUFTensorInfo[];
  private readonly byName: Map<string, GGUFTensorInfo>;
  private readonly src: ByteSource;

  constructor(src: ByteSource, h: ParsedHeader) {
    this.src = src;
    this.name = src.name;
    this.size = src.size;
    this.version = h.version;
    this.alignment = h.alignment;
    this.dataOffset = h.dataOffset;
    this.metadata = h.metadata;
    this.tensors = h.tensors;
    this.byName = new Map(h.tensors.map((t) => [t.name, t]));
  }

  /** The tensor named `name`; model_invalid when the file has none. */
  tensor(name: string): GGUFTensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new HearthError('model_invalid', `${this.name}: tensor "${name}" is missing`);
    return t;
  }

  findTensor(name: string): GGUFTensorInfo | undefined {
    return this.byName.get(name);
  }

  /** Reads a tensor's bytes into `dst`, which must be exactly `byteSize` long (no intermediate copy). */
  readTensorInto(t: GGUFTensorInfo | string, dst: Uint8Array): void {
    const info = typeof t === 'string' ? this.tensor(t) : t;
    if (dst.length !== info.byteSize) {
      throw new HearthError('invalid_argument',
        `${this.name}: tensor "${info.name}" has ${info.byteSize} bytes; the destination holds ${dst.length}`);
    }
    this.readAt(info.offset, dst);
  }

  /** A new buffer of exactly `byteSize` bytes holding the tensor's data. */
  readTensor(t: GGUFTensorInfo | string): Uint8Array {
    const info = typeof t === 'string' ? this.tensor(t) : t;
    const dst = new Uint8Array(info.byteSize);
    this.readAt(info.offset, dst);
    return dst;
  }

  /** Reads dst.length bytes at absolute file offset `pos` (e.g. part of a tensor, for streaming). */
  readAt(pos: number, dst: Uint8Array): void {
    if (!Number.isSafeInteger(pos) || pos < 0 || pos + dst.length > this.size) {
      throw new HearthError('invalid_argument',
        `${this.name}: read of ${dst.length} bytes at ${pos} is outside the file (${this.size} bytes)`);
    }
    this.src.readInto(pos, dst);
  }

  /** Closes the file descriptor (no-op for in-memory files); reads after close fail with io_error. */
  close(): void {
    this.src.close();
  }
}

/** Opens a GGUF file and parses its header; tensor data is read later, on demand. */
export function openGGUF(path: string): GGUFFile {
  const src = new FileSource(path);
  try {
    return new GGUFFile(src, parseHeader(src));
  } catch (e) {
    src.close();
    throw e;
  }
}

/** Parses a GGUF file held in memory (tests, browsers). Tensor reads copy out of `bytes`. */
export function parseGGUF(bytes: Uint8Array, name = '<memory>'): GGUFFile {
  const src = new MemorySource(bytes, name);
  return new GGUFFile(src, parseHeader(src));
}

interface ParsedHeader {
  version: number;
  alignment: number;
  dataOffset: number;
  metadata: GGUFMetadata;
  tensors: GGUFTensorInfo[];
}

function parseHeader(src: ByteSource): ParsedHeader {
  const c = new HeaderCursor(src);
  if (!HOST_IS_LITTLE_ENDIAN) throw c.unsupported('this reader needs a little-endian host', 0);

  c.what = 'magic';
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) {
    throw c.invalid(`bad magic 0x${magic.toString(16).padStart(8, '0')}, not a GGUF file`, 0);
  }
  c.what = 'version';
  const version = c.u32();
  const swapped = ((version & 0xff) << 24 | (version & 0xff00) << 8 | (version >>> 8) & 0xff00 | version >>> 24) >>> 0;
  if (swapped >= 1 && swapped <= 3) {
    throw c.unsupported(`big-endian GGUF (version ${swapped}, byte-swapped) is not supported`, 4);
  }
  if (version !== 2 && version !== 3) {
    throw c.unsupported(`GGUF version ${version} is not supported (this build reads versions 2 and 3)`, 4);
  }

  c.what = 'tensor count';
  const tensorCount = c.count('tensor_count', MIN_TENSOR_INFO_BYTES, 8);
  c.what = 'metadata count';
  const kvCount = c.count('kv_count', MIN_KV_BYTES, tensorCount * MIN_TENSOR_INFO_BYTES);

  const metadata = new GGUFMetadata();
  metadata.source = src.name;
  let alignmentAt = 0;
  for (let i = 0; i < kvCount; i++) {
    c.what = `metadata entry #${i}`;
    const at = c.pos;
    const key = c.string();
    c.what = `metadata key "${key}"`;
    if (metadata.has(key)) throw c.invalid('duplicate metadata key', at);
    if (key === 'general.alignment') alignmentAt = at;
    metadata.set(key, c.value(c.valueType()));
  }
  c.what = 'metadata key "general.alignment"';
  const alignment = readAlignment(c, metadata.get('general.alignment'), alignmentAt);

  const infos: RawTensorInfo[] = [];
  const infoPos: number[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    c.what = `tensor info #${i}`;
    infoPos.push(c.pos);
    infos.push(readTensorInfo(c, alignment, names));
  }

  // The data section starts at the header end rounded up to the alignment.
  const dataOffset = alignUp(c.pos, alignment);
  const tensors = infos.map((r, i): GGUFTensorInfo => {
    const offset = dataOffset + r.rel;
    c.what = `tensor "${r.name}"`;
    if (offset + r.byteSize > src.size) {
      throw c.invalid(`data [${offset}, ${offset + r.byteSize}) runs past the end of the file (${src.size} bytes)`, infoPos[i]);
    }
    return { name: r.name, shape: r.shape, type: r.type, offset, byteSize: r.byteSize, nElements: r.nElements };
  });
  checkOverlaps(c, tensors, infoPos);
  return { version, alignment, dataOffset, metadata, tensors };
}

function readAlignment(c: HeaderCursor, v: GGUFValue | undefined, at: number): number {
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  const integer = v.type !== T.FLOAT32 && v.type !== T.FLOAT64 && v.type !== T.BOOL &&
    v.type !== T.STRING && v.type !== T.ARRAY;
  if (!integer) throw c.invalid(`general.alignment is ${valueTypeName(v.type)}, expected UINT32`, at);
  const a = v.value as number | bigint;
  if (typeof a !== 'number' || a <= 0 || !Number.isInteger(Math.log2(a))) {
    throw c.invalid(`general.alignment ${a} is not a nonzero power of two`, at);
  }
  return a;
}

interface RawTensorInfo extends Omit<GGUFTensorInfo, 'offset'> {
  /** Offset relative to the data section. */
  rel: number;
}

function readTensorInfo(c: HeaderCursor, alignment: number, names: Set<string>): RawTensorInfo {
  const at = c.pos;
  const name = c.string();
  c.what = `tensor "${name}"`;
  if (names.has(name)) throw c.invalid('duplicate tensor name', at);
  names.add(name);

  const dimsAt = c.pos;
  const nDims = c.u32();
  if (nDims === 0 || nDims > GGUF_MAX_DIMS) throw c.invalid(`n_dims ${nDims} is not in 1..${GGUF_MAX_DIMS}`, dimsAt);
  const shape: number[] = [];
  let nElements = 1;
  for (let d = 0; d < nDims; d++) {
    const dimAt = c.pos;
    const ne = c.u64();
    if (ne === 0) throw c.invalid(`dimension ${d} is 0`, dimAt);
    if (typeof ne === 'bigint' || nElements * ne > Number.MAX_SAFE_INTEGER) {
      throw c.invalid(`element count overflows: dimension ${d} is ${ne}, the product exceeds 2^53`, dimAt);
    }
    shape.push(ne);
    nElements *= ne;
  }

  const typeAt = c.pos;
  const type = c.u32();
  const layout = typeLayout(type);
  if (!layout) throw c.unsupported(`unknown tensor type id ${type}`, typeAt);
  if (shape[0] % layout.blockSize !== 0) {
    throw c.invalid(`row length ${shape[0]} is not a multiple of the ${typeName(type)} block size ${layout.blockSize}`, dimsAt);
  }
  const byteSize = (nElements / layout.blockSize) * layout.typeSize;
  if (byteSize > Number.MAX_SAFE_INTEGER) throw c.invalid(`data size ${byteSize} exceeds 2^53`, dimsAt);

  const offAt = c.pos;
  const rel = c.u64();
  if (typeof rel === 'bigint' || rel > c.remaining + c.pos) {
    throw c.invalid(`data offset ${rel} is past the end of the file`, offAt);
  }
  if (rel % alignment !== 0) throw c.invalid(`data offset ${rel} is not a multiple of the alignment ${alignment}`, offAt);
  return { name, shape, type, rel, byteSize, nElements };
}

function checkOverlaps(c: HeaderCursor, tensors: GGUFTensorInfo[], infoPos: number[]): void {
  const order = tensors.map((_, i) => i).sort((a, b) => tensors[a].offset - tensors[b].offset);
  for (let k = 1; k < order.length; k++) {
    const prev = tensors[order[k - 1]];
    const cur = tensors[order[k]];
    if (cur.offset < prev.offset + prev.byteSize) {
      c.what = `tensor "${cur.name}"`;
      throw c.invalid(`data [${cur.offset}, ${cur.offset + cur.byteSize}) overlaps tensor "${prev.name}" ` +
        `[${prev.offset}, ${prev.offset + prev.byteSize})`, infoPos[order[k]]);
    }
  }
}

export function alignUp(n: number, alignment: number): number {
  const r = n % alignment;
  return r === 0 ? n : n + alignment - r;
}
