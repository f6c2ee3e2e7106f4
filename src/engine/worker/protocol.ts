// The messages between a thread that serves requests and the engine thread that runs the models
// (engine-thread.ts). Requests carry an id and get exactly one reply; a model's job events and scheduler
// state come unasked, batched once per scheduler turn.

import { HearthError, type ErrorCode } from '../../util/errors.ts';
import type { LoadOptions } from '../types.ts';
import type { Pooling } from '../../model/types.ts';
import type { JobEvent, JobSpec, KvCacheUse, SchedulerOptions, SchedulerStats, StepInfo } from '../scheduler.ts';

/** A job as it crosses threads: no signal (cancel is a message); logit biases as an array. */
export type WireJobSpec = Omit<JobSpec, 'signal'>;

export interface WireError {
  code: ErrorCode;
  message: string;
}

/** What a job reports across threads: its events, errors as plain data, and an embedding's vector. */
export type WireJobEvent =
  | Exclude<JobEvent, { type: 'error' }>
  | { type: 'error'; error: WireError }
  | { type: 'embedding'; vector: Float32Array };

export type EngineRequest =
  | { op: 'load'; model: number; path: string; options: LoadOptions; scheduler: SchedulerOptions }
  | { op: 'submit'; model: number; jobs: number[]; specs: WireJobSpec[] }
  /** pooling: the model's when absent; 'rank' scores with a reranker's classification head. */
  | { op: 'embed'; model: number; jobs: number[]; inputs: number[][]; pooling?: Pooling }
  | { op: 'cancel'; jobs: number[] }
  | { op: 'unload'; model: number }
  | { op: 'shutdown' }
  | { op: 'threads' }
  /** A full garbage collection, asked for when the engine has been idle a while (src/util/idle-gc.ts). */
  | { op: 'gc' };

/** The reply to 'load'. */
export interface LoadReply {
  loadMs: number;
  stats: SchedulerStats;
  kv: KvCacheUse;
}

/** The reply to 'threads': the kernel threads of the engine thread's one pool. */
export interface ThreadsReply {
  workers: number;
  size: number;
}

export type EngineMessage =
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: WireError }
  | { type: 'events'; model: number; stats: SchedulerStats; kv: KvCacheUse; events: [job: number, ev: WireJobEvent][]; steps: StepInfo[] };

export function toWireError(e: unknown): WireError {
  if (e instanceof HearthError) return { code: e.code, message: e.message };
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}

export function fromWireError(e: WireError): HearthError {
  return new HearthError(e.code, e.message);
}

/** A spec without what cannot (signal) or need not (an iterable) cross a thread boundary. */
export function toWireSpec(spec: JobSpec): WireJobSpec {
  const { signal: _, ...rest } = spec;
  const bias = rest.sampling?.logitBias;
  return bias === undefined ? rest : { ...rest, sampling: { ...rest.sampling, logitBias: [...bias] } };
}
