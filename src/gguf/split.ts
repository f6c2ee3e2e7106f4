/**
 * Split GGUF models, as llama.cpp's gguf-split writes them: `NAME-00001-of-0000N.gguf` … `NAME-0000N-of-0000N.gguf`.
 * Every part carries `split.no` (u16, 0-based), `split.count` (u16) and `split.tensors.count` (i32, the model's
 * tensors over all parts); the first part also carries all of the model's metadata (and may hold no tensors, with
 * --no-tensor-first-split); each part lists its own tensors, at offsets in its own data section.
 *
 *   const m = openGGUFModel('m-00001-of-00003.gguf');  // opens every part; a whole file is a model of one part
 *   m.metadata.getString('general.architecture');     // the first part's
 *   m.readTensorInto(m.tensor('blk.9.ffn_up.weight'), dst);  // read from the part that holds it
 *   m.close();                                        // closes every part
 *
 * As llama.cpp's loader (llama-model-loader.cpp): the first part's `split.count` decides whether a file is split
 * (a name alone does not), the other parts are found by llama_split_path's naming, each must say the `split.no`
 * its name gives, and the tensors found must number `split.tensors.count`.
 */

import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { HearthError } from '../util/errors.ts';
import type { GGUFMetadata } from './metadata.ts';
import { openGGUF, type GGUFFile, type GGUFTensorInfo } from './reader.ts';

export const SPLIT_NO = 'split.no';
export const SPLIT_COUNT = 'split.count';
export const SPLIT_TENSORS_COUNT = 'split.tensors.count';

const SPLIT_NAME = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;

/** Part `no` (0-based) of `count`: PREFIX-%05d-of-%05d.gguf, as llama_split_path writes it. */
export function splitPartName(prefix: string, no: number, count: number): string {
  return `${prefix}-${String(no + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.gguf`;
}

/** What a file name says of a split: its prefix, its part (0-based) and the part count; undefined for another name. */
export function parseSplitName(file: string): { prefix: string; no: number; count: number } | undefined {
  const m = SPLIT_NAME.exec(file);
  if (!m) return undefined;
  return { prefix: m[1]!, no: Number(m[2]) - 1, count: Number(m[3]) };
}

/** The file names of every part of a split GGUF (`NAME-00001-of-0000N.gguf`) in order, from a name alone; undefined for a whole file. */
export function splitPartNames(file: string): string[] | undefined {
  const s = parseSplitName(file);
  if (!s) return undefined;
  return Array.from({ length: s.count }, (_, i) => splitPartName(s.prefix, i, s.count));
}

/** A model's GGUF files seen as one: the first part's metadata, every part's tensors, each read from its own file. */
export interface GGUFModelFile {
  /** The first part's path. */
  readonly name: string;
  /** The first part's metadata (the model's; later parts hold only the split.* keys). */
  readonly metadata: GGUFMetadata;
  /** Every part's tensors, part by part in file order. Offsets are within the part that holds the tensor. */
  readonly tensors: readonly GGUFTensorInfo[];
  /** The open files, first part first; one for a whole file. */
  readonly parts: readonly GGUFFile[];
  /** Header bytes over all parts (each part's data offset). */
  readonly headerBytes: number;
  findTensor(name: string): GGUFTensorInfo | undefined;
  /** The tensor named `name`; model_invalid when no part has it. */
  tensor(name: string): GGUFTensorInfo;
  /** Reads a tensor's bytes, from the part holding it, into `dst` (exactly its byteSize long). */
  readTensorInto(t: GGUFTensorInfo, dst: Uint8Array): void;
  /** Closes every part. */
  close(): void;
}

class GGUFParts implements GGUFModelFile {
  readonly name: string;
  readonly metadata: GGUFMetadata;
  readonly tensors: readonly GGUFTensorInfo[];
  readonly parts: readonly GGUFFile[];
  readonly headerBytes: number;
  private readonly byName = new Map<string, { info: GGUFTensorInfo; part: GGUFFile }>();

  constructor(parts: GGUFFile[]) {
    this.parts = parts;
    this.name = parts[0]!.name;
    this.metadata = parts[0]!.metadata;
    this.headerBytes = parts.reduce((s, p) => s + p.dataOffset, 0);
    const tensors: GGUFTensorInfo[] = [];
    for (const part of parts) {
      for (const info of part.tensors) {
        const seen = this.byName.get(info.name);
        // llama.cpp refuses this too ("tensor is duplicated"): which copy is the weight would be a guess
        if (seen) throw new HearthError('model_invalid', `${part.name}: tensor "${info.name}" is also in ${seen.part.name}; a split model holds each tensor once`);
        this.byName.set(info.name, { info, part });
        tensors.push(info);
      }
    }
    this.tensors = tensors;
  }

  findTensor(name: string): GGUFTensorInfo | undefined {
    return this.byName.get(name)?.info;
  }

  tensor(name: string): GGUFTensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new HearthError('model_invalid', `${this.name}: tensor "${name}" is missing${this.parts.length > 1 ? ` (from all ${this.parts.length} parts)` : ''}`);
    return t.info;
  }

  readTensorInto(t: GGUFTensorInfo, dst: Uint8Array): void {
    const held = this.byName.get(t.name);
    // an info from another file would read that file's offset in this one
    if (held?.info !== t) throw new HearthError('invalid_argument', `${this.name}: tensor "${t.name}" is not one of this model's`);
    held.part.readTensorInto(t, dst);
  }

  close(): void {
    for (const p of this.parts) p.close();
  }
}

/**
 * Opens a model's GGUF file and, when it is the first part of a split model, every other part (from the same
 * folder, by name). A later part is refused with the first part's name; a missing part is not_found naming it;
 * parts that disagree on split.no, split.count or split.tensors.count are model_invalid naming the file.
 */
export function openGGUFModel(path: string): GGUFModelFile {
  const opened: GGUFFile[] = [openGGUF(path)];
  try {
    const first = opened[0]!;
    const md = first.metadata;
    const count = md.getNumber(SPLIT_COUNT, 0);
    if (count <= 1) return new GGUFParts(opened);
    const no = md.getNumber(SPLIT_NO);
    const file = basename(path);
    // llama_split_prefix: the name must end in the suffix split.no and split.count give, for the prefix to be found
    const suffix = splitPartName('', no, count);
    if (!file.endsWith(suffix) || file.length === suffix.length) {
      throw new HearthError('model_invalid',
        `${path} says it is part ${no + 1} of ${count} (${SPLIT_NO} ${no}, ${SPLIT_COUNT} ${count}) but its name does not end in ` +
        `${suffix}, so its other parts cannot be found; keep the names gguf-split gave them (NAME-00001-of-${String(count).padStart(5, '0')}.gguf …)`);
    }
    const prefix = file.slice(0, file.length - suffix.length);
    if (no !== 0) {
      throw new HearthError('invalid_argument',
        `${path} is part ${no + 1} of a ${count}-part model; load the first part, ${splitPartName(prefix, 0, count)}`);
    }
    const paths = Array.from({ length: count }, (_, i) => join(dirname(path), splitPartName(prefix, i, count)));
    const missing = paths.filter((p) => !existsSync(p));
    if (missing.length) {
      throw new HearthError('not_found',
        `${file} is the first part of a ${count}-part model; missing from ${dirname(path)}: ${missing.map((p) => basename(p)).join(', ')}`);
    }
    for (let i = 1; i < count; i++) {
      const part = openGGUF(paths[i]!);
      opened.push(part);
      const partNo = part.metadata.getNumber(SPLIT_NO);
      const partCount = part.metadata.getNumber(SPLIT_COUNT);
      if (partNo !== i || partCount !== count) {
        throw new HearthError('model_invalid',
          `${paths[i]}: ${SPLIT_NO} ${partNo}, ${SPLIT_COUNT} ${partCount}; as part ${i + 1} of ${path}'s ${count} it should say ` +
          `${SPLIT_NO} ${i}, ${SPLIT_COUNT} ${count} (a part of another split in the folder? re-split the model with gguf-split)`);
      }
    }
    const model = new GGUFParts(opened);
    const total = md.getNumber(SPLIT_TENSORS_COUNT);
    if (model.tensors.length !== total) {
      throw new HearthError('model_invalid',
        `${path}: ${SPLIT_TENSORS_COUNT} is ${total} but its ${count} parts hold ${model.tensors.length} tensors (${opened.map((f) => f.tensors.length).join(' + ')})`);
    }
    return model;
  } catch (e) {
    for (const f of opened) f.close();
    throw e;
  }
}
