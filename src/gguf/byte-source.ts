// Where GGUF bytes come from: a file descriptor read with positioned reads, or bytes already in memory.
// Positions are plain numbers (exact up to 2^53), so files far beyond one Node Buffer work; single reads
// are split into chunks of at most 1 GiB.

import { openSync, closeSync, fstatSync, readSync } from 'node:fs';
import { HearthError } from '../util/errors.ts';

export interface ByteSource {
  /** File path or given name, for messages. */
  readonly name: string;
  readonly size: number;
  /** The whole content when it is already in memory. */
  readonly bytes?: Uint8Array;
  /** Fills `dst` with the bytes at [pos, pos + dst.length); the caller has checked the range. */
  readInto(pos: number, dst: Uint8Array): void;
  close(): void;
}

export const MAX_READ_CHUNK = 1 << 30;

export class FileSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  private fd: number | undefined;
  private readonly maxChunk: number;

  /** `maxChunk` bounds one readSync (smaller values only in tests). */
  constructor(path: string, maxChunk = MAX_READ_CHUNK) {
    this.name = path;
    this.maxChunk = maxChunk;
    try {
      this.fd = openSync(path, 'r');
      this.size = fstatSync(this.fd).size;
    } catch (e) {
      if (this.fd !== undefined) closeSync(this.fd);
      const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not_found' : 'io_error';
      throw new HearthError(code, `${path}: cannot open: ${(e as Error).message}`, { cause: e });
    }
  }

  readInto(pos: number, dst: Uint8Array): void {
    if (this.fd === undefined) throw new HearthError('io_error', `${this.name}: read after close`);
    let done = 0;
    while (done < dst.length) {
      const len = Math.min(dst.length - done, this.maxChunk);
      let n: number;
      try {
        n = readSync(this.fd, dst, done, len, pos + done);
      } catch (e) {
        throw new HearthError('io_error', `${this.name}: read failed at byte ${pos + done}: ${(e as Error).message}`, { cause: e });
      }
      if (n === 0) throw new HearthError('io_error', `${this.name}: unexpected end of file at byte ${pos + done} (file changed while open?)`);
      done += n;
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export class MemorySource implements ByteSource {
  readonly name: string;
  readonly size: number;
  readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array, name: string) {
    // A plain Uint8Array view, so that no Buffer-specific behaviour (Buffer#slice shares memory) leaks in.
    this.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.size = bytes.length;
    this.name = name;
  }

  readInto(pos: number, dst: Uint8Array): void {
    dst.set(this.bytes.subarray(pos, pos + dst.length));
  }

  close(): void {}
}
