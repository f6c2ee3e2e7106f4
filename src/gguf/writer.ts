/**
 * GGUF writer (version 3, little-endian), with the layout gguf-py's GGUFWriter and llama.cpp produce:
 * header, metadata in Map order, tensor infos in the given order with offsets packed back to back, then
 * the data section at the header end padded with zeros to the alignment, each tensor padded likewise.
 * A file without tensors ends right after its last metadata value (as llama.cpp's vocab files do).
 *
 *   writeGGUF('out.gguf', { metadata, tensors: [{ name, shape, type, data }] });
 *
 * `data` is the tensor's bytes or a function returning them, called once when that tensor is written,
 * so a large model can be written tensor by tensor without holding it all. `writeGGUF` streams to a
 * temporary file beside `path` and renames it into place when complete; `serializeGGUF` returns the
 * whole file as one buffer. `general.alignment` is written only when the alignment is not the default
 * 32 (or when the metadata already carries it). Caller mistakes are HearthError 'invalid_argument'.
 * Arrays of arrays are written as the format defines them, but llama.cpp's loader refuses them.
 */

import { openSync, writeSync, closeSync, fsyncSync, renameSync, rmSync } from 'node:fs';
import { HearthError } from '../util/errors.ts';
import { typeLayout, typeName } from './ggml-types.ts';
import { GGUF_MAGIC, GGUF_DEFAULT_ALIGNMENT, GGUF_MAX_DIMS, alignUp } from './reader.ts';
import { GGUFValueType as T, checkValue, arrayClassOf, type GGUFValue, type GGUFArrayValue } from './value-types.ts';

export interface GGUFTensorInput {
  readonly name: string;
  /** ggml order: shape[0] is the row length. */
  readonly shape: readonly number[];
  /** GGMLTypeId. */
  readonly type: number;
  /** The tensor's bytes (exactly rowBytes × rows), or a function returning them when the tensor is written. */
  readonly data: Uint8Array | (() => Uint8Array);
}

export interface GGUFWriteInput {
  readonly metadata: ReadonlyMap<string, GGUFValue>;
  readonly tensors?: readonly GGUFTensorInput[];
  /** Data alignment; defaults to the metadata's general.alignment, else 32. */
  readonly alignment?: number;
}

/** GGUF llama.cpp accepts: tensor names shorter than GGML_MAX_NAME (64) bytes. */
const MAX_NAME_BYTES = 63;
const MAX_WRITE_CHUNK = 1 << 30;
const encoder = new TextEncoder();

interface PlannedTensor { input: GGUFTensorInput; byteSize: number }
interface Plan { header: Uint8Array; alignment: number; tensors: PlannedTensor[]; size: number }

/** Writes a GGUF file to `path` tensor by tensor; returns the file size in bytes. */
export function writeGGUF(path: string, input: GGUFWriteInput): number {
  const plan = planGGUF(input);
  const tmp = `${path}.${process.pid}.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    const out = fd;
    emit(plan, (bytes) => writeAll(out, bytes, tmp));
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    // File system failures become io_error; anything else (e.g. from a data callback) passes through.
    if (e instanceof Error && 'syscall' in e) {
      throw new HearthError('io_error', `${path}: write failed: ${e.message}`, { cause: e });
    }
    throw e;
  }
  return plan.size;
}

/** The whole GGUF file in memory. */
export function serializeGGUF(input: GGUFWriteInput): Uint8Array {
  const plan = planGGUF(input);
  const out = new Uint8Array(plan.size);
  let pos = 0;
  emit(plan, (bytes) => { out.set(bytes, pos); pos += bytes.length; });
  return out;
}

function emit(plan: Plan, sink: (bytes: Uint8Array) => void): void {
  sink(plan.header);
  const zeros = new Uint8Array(Math.min(plan.alignment, 1 << 16));
  for (const { input, byteSize } of plan.tensors) {
    const data = typeof input.data === 'function' ? input.data() : input.data;
    if (!(data instanceof Uint8Array) || data.length !== byteSize) {
      const got = data instanceof Uint8Array ? `${data.length} bytes` : 'not a Uint8Array';
      throw new HearthError('invalid_argument', `tensor "${input.name}": data is ${got}; ` +
        `shape [${input.shape.join(', ')}] of ${typeName(input.type)} needs ${byteSize} bytes`);
    }
    sink(data);
    for (let pad = alignUp(byteSize, plan.alignment) - byteSize; pad > 0; pad -= zeros.length) {
      sink(pad >= zeros.length ? zeros : zeros.subarray(0, pad));
    }
  }
}

function writeAll(fd: number, bytes: Uint8Array, path: string): void {
  let done = 0;
  while (done < bytes.length) {
    const n = writeSync(fd, bytes, done, Math.min(bytes.length - done, MAX_WRITE_CHUNK));
    if (n <= 0) throw new HearthError('io_error', `${path}: write made no progress`);
    done += n;
  }
}

/** Checks the input and encodes everything up to the data section. */
function planGGUF(input: GGUFWriteInput): Plan {
  const alignment = resolveAlignment(input);
  const entries = [...input.metadata];
  if (alignment !== GGUF_DEFAULT_ALIGNMENT && !input.metadata.has('general.alignment')) {
    entries.push(['general.alignment', { type: T.UINT32, value: alignment }]);
  }
  for (const [key, v] of entries) {
    if (typeof key !== 'string' || !key.isWellFormed()) {
      throw new HearthError('invalid_argument', `metadata key ${JSON.stringify(key)} is not a well-formed string`);
    }
    checkValue(key, v);
  }
  const tensors = (input.tensors ?? []).map(planTensor);
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.input.name)) throw new HearthError('invalid_argument', `duplicate tensor name "${t.input.name}"`);
    names.add(t.input.name);
  }

  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(3);
  w.u64(tensors.length);
  w.u64(entries.length);
  for (const [key, v] of entries) {
    w.string(key);
    w.u32(v.type);
    writeValue(w, v);
  }
  let rel = 0;
  for (const { input: t, byteSize } of tensors) {
    w.string(t.name);
    w.u32(t.shape.length);
    for (const d of t.shape) w.u64(d);
    w.u32(t.type);
    w.u64(rel);
    rel += alignUp(byteSize, alignment);
  }
  if (tensors.length > 0) w.zeros(alignUp(w.length, alignment) - w.length);
  const header = w.bytes();
  return { header, alignment, tensors, size: header.length + rel };
}

function resolveAlignment(input: GGUFWriteInput): number {
  const v = input.metadata.get('general.alignment');
  if (v !== undefined && v.type !== T.UINT32) {
    throw new HearthError('invalid_argument', 'metadata key "general.alignment" must be UINT32');
  }
  const fromMeta = v?.value as number | undefined;
  if (input.alignment !== undefined && fromMeta !== undefined && input.alignment !== fromMeta) {
    throw new HearthError('invalid_argument',
      `alignment ${input.alignment} disagrees with metadata general.alignment ${fromMeta}`);
  }
  const a = input.alignment ?? fromMeta ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(a) || a <= 0 || a > 0xffffffff || !Number.isInteger(Math.log2(a))) {
    throw new HearthError('invalid_argument', `alignment ${a} is not a nonzero power of two`);
  }
  return a;
}

function planTensor(t: GGUFTensorInput): PlannedTensor {
  const bad = (msg: string) => new HearthError('invalid_argument', `tensor "${t.name}": ${msg}`);
  if (typeof t.name !== 'string' || t.name.length === 0 || !t.name.isWellFormed()) {
    throw bad('name must be a non-empty, well-formed string');
  }
  if (encoder.encode(t.name).length > MAX_NAME_BYTES) throw bad(`name is longer than ${MAX_NAME_BYTES} bytes`);
  const layout = typeLayout(t.type);
  if (!layout) throw bad(`unknown ggml type id ${t.type}`);
  const shape = t.shape;
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > GGUF_MAX_DIMS) {
    throw bad(`shape must have 1..${GGUF_MAX_DIMS} dimensions`);
  }
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d <= 0) throw bad(`dimension ${d} is not a positive integer`);
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) throw bad('element count exceeds 2^53');
  }
  if (shape[0] % layout.blockSize !== 0) {
    throw bad(`row length ${shape[0]} is not a multiple of the ${layout.name} block size ${layout.blockSize}`);
  }
  return { input: t, byteSize: (n / layout.blockSize) * layout.typeSize };
}

function writeValue(w: ByteWriter, v: GGUFValue): void {
  switch (v.type) {
    case T.UINT8: w.grow(1); w.dv.setUint8(w.length, v.value); w.length += 1; return;
    case T.INT8: w.grow(1); w.dv.setInt8(w.length, v.value); w.length += 1; return;
    case T.UINT16: w.grow(2); w.dv.setUint16(w.length, v.value, true); w.length += 2; return;
    case T.INT16: w.grow(2); w.dv.setInt16(w.length, v.value, true); w.length += 2; return;
    case T.UINT32: w.u32(v.value); return;
    case T.INT32: w.grow(4); w.dv.setInt32(w.length, v.value, true); w.length += 4; return;
    case T.FLOAT32: w.grow(4); w.dv.setFloat32(w.length, v.value, true); w.length += 4; return;
    case T.FLOAT64: w.grow(8); w.dv.setFloat64(w.length, v.value, true); w.length += 8; return;
    case T.UINT64: w.u64(v.value); return;
    case T.INT64: w.grow(8); w.dv.setBigInt64(w.length, BigInt(v.value), true); w.length += 8; return;
    case T.BOOL: w.grow(1); w.buf[w.length++] = v.value ? 1 : 0; return;
    case T.STRING: w.string(v.value); return;
    case T.ARRAY: writeArray(w, v); return;
  }
}

function writeArray(w: ByteWriter, v: GGUFArrayValue): void {
  w.u32(v.itemType);
  w.u64(v.value.length);
  if (arrayClassOf(v.itemType)) {
    // Typed arrays hold little-endian elements on every host this project runs on (checked by the reader).
    const a = v.value as Exclude<GGUFArrayValue['value'], unknown[]>;
    w.raw(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  } else if (v.itemType === T.STRING) {
    for (const s of v.value as string[]) w.string(s);
  } else if (v.itemType === T.BOOL) {
    for (const b of v.value as boolean[]) { w.grow(1); w.buf[w.length++] = b ? 1 : 0; }
  } else {
    for (const inner of v.value as GGUFArrayValue[]) writeArray(w, inner);
  }
}

/** A growable little-endian byte buffer for the header. */
class ByteWriter {
  buf = new Uint8Array(1 << 16);
  dv = new DataView(this.buf.buffer);
  length = 0;

  grow(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }

  u32(v: number): void { this.grow(4); this.dv.setUint32(this.length, v, true); this.length += 4; }
  u64(v: number | bigint): void {
    this.grow(8);
    if (typeof v === 'bigint') {
      this.dv.setBigUint64(this.length, v, true);
    } else {
      this.dv.setUint32(this.length, v >>> 0, true);
      this.dv.setUint32(this.length + 4, Math.floor(v / 0x100000000), true);
    }
    this.length += 8;
  }
  raw(b: Uint8Array): void { this.grow(b.length); this.buf.set(b, this.length); this.length += b.length; }
  zeros(n: number): void { this.grow(n); this.buf.fill(0, this.length, this.length + n); this.length += n; }

  string(s: string): void {
    this.grow(8 + s.length * 3);
    const r = encoder.encodeInto(s, this.buf.subarray(this.length + 8));
    this.dv.setUint32(this.length, r.written, true);
    this.dv.setUint32(this.length + 4, 0, true);
    this.length += 8 + r.written;
  }

  bytes(): Uint8Array { return this.buf.slice(0, this.length); }
}
