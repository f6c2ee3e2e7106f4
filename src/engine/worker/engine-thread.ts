// The engine thread: loads models and runs their schedulers (and so every forward pass) away from the thread
// that serves HTTP. Requests arrive on the port; replies, job events and scheduler state go back on it. Every
// model here shares this thread's one kernel thread pool.

import { parentPort, type MessagePort } from 'node:worker_threads';
import { HearthError } from '../../util/errors.ts';
import { checkOneToken, loadModel, type LoadedModel } from '../load.ts';
import { sharedThreadPool } from '../../kernels/wasm/thread-pool.ts';
import { Scheduler, type JobEvent, type StepInfo } from '../scheduler.ts';
import { toWireError, type EngineMessage, type EngineRequest, type WireJobEvent } from './protocol.ts';
import { collectGarbage } from '../../util/idle-gc.ts';

interface Hosted {
  model: LoadedModel;
  scheduler: Scheduler;
  events: [number, WireJobEvent][];
  steps: StepInfo[];
  /** Whether events or steps wait to be sent. */
  dirty: boolean;
  /** The slots and queue as last sent. */
  sent: string;
}

const port = parentPort as MessagePort;
const hosted = new Map<number, Hosted>();
/** Job id -> the model running it and how to cancel it. */
const jobs = new Map<number, { model: number; abort: AbortController }>();

function send(msg: EngineMessage): void {
  port.postMessage(msg);
}

function flush(id: number): void {
  const h = hosted.get(id);
  if (!h) return;
  const stats = h.scheduler.stats;
  const kv = h.scheduler.kvCache;
  const key = `${stats.slots}/${stats.busy}/${stats.queued}/${kv.tokens}`;
  if (!h.dirty && key === h.sent) return;
  const msg: EngineMessage = { type: 'events', model: id, stats, kv, events: h.events, steps: h.steps };
  h.sent = key;
  h.events = [];
  h.steps = [];
  h.dirty = false;
  send(msg);
}

function hostedModel(id: number): Hosted {
  const h = hosted.get(id);
  if (!h) throw new HearthError('unavailable', 'the model has been unloaded');
  return h;
}

function record(h: Hosted, job: number, ev: WireJobEvent): void {
  h.events.push([job, ev]);
  h.dirty = true;
  if (ev.type === 'done' || ev.type === 'error' || ev.type === 'embedding') jobs.delete(job);
}

function unload(id: number): void {
  const h = hosted.get(id);
  if (!h) return;
  h.scheduler.close();
  h.dirty = true;
  flush(id);
  hosted.delete(id);
  h.model.dispose();
}

function handle(req: EngineRequest): unknown {
  switch (req.op) {
    case 'load': {
      const model = loadModel(req.path, req.options);
      let scheduler: Scheduler;
      try {
        checkOneToken(model);
        scheduler = new Scheduler(model, req.scheduler);
      } catch (e) {
        model.dispose();
        throw e;
      }
      const h: Hosted = { model, scheduler, events: [], steps: [], dirty: false, sent: '' };
      scheduler.onStep = (info) => {
        h.steps.push(info);
        h.dirty = true;
      };
      scheduler.onTurn = () => flush(req.model);
      hosted.set(req.model, h);
      return { loadMs: model.loadMs, stats: scheduler.stats, kv: scheduler.kvCache };
    }
    case 'submit': {
      const h = hostedModel(req.model);
      const aborts = req.jobs.map(() => new AbortController());
      h.scheduler.submit(req.specs.map((s, i) => ({ ...s, signal: aborts[i].signal })), (i, ev: JobEvent) =>
        record(h, req.jobs[i], ev.type === 'error' ? { type: 'error', error: toWireError(ev.error) } : ev));
      req.jobs.forEach((job, i) => jobs.set(job, { model: req.model, abort: aborts[i] }));
      h.dirty = true;
      return undefined;
    }
    case 'embed': {
      const h = hostedModel(req.model);
      const aborts = req.jobs.map(() => new AbortController());
      const submitted: number[] = [];
      h.scheduler.admitEmbeddings(req.inputs.length);
      try {
        req.inputs.forEach((tokens, i) => {
          const job = req.jobs[i];
          h.scheduler.submitEmbedding(tokens, (r) =>
            record(h, job, r instanceof HearthError ? { type: 'error', error: toWireError(r) } : { type: 'embedding', vector: r }),
          aborts[i].signal, req.pooling);
          jobs.set(job, { model: req.model, abort: aborts[i] });
          submitted.push(i);
        });
      } catch (e) {
        // all or none: inputs queued before the one refused leave again
        for (const i of submitted) aborts[i].abort();
        throw e;
      }
      h.dirty = true;
      return undefined;
    }
    case 'cancel':
      for (const job of req.jobs) {
        const j = jobs.get(job);
        if (!j) continue;
        j.abort.abort();
        jobs.delete(job);
      }
      return undefined;
    case 'unload':
      unload(req.model);
      return undefined;
    case 'shutdown':
      // every model, before the thread goes: a webgpu device is released in its own thread while that can
      // finish (a Dawn device torn down by a terminated thread can abort the process)
      for (const id of [...hosted.keys()]) unload(id);
      return undefined;
    case 'gc':
      collectGarbage();
      return undefined;
    case 'threads': {
      const pool = sharedThreadPool();
      return { workers: pool.workerCount, size: pool.size };
    }
  }
}

port.on('message', ({ id, req }: { id: number; req: EngineRequest }) => {
  let msg: EngineMessage;
  try {
    msg = { type: 'reply', id, ok: true, value: handle(req) };
  } catch (e) {
    msg = { type: 'reply', id, ok: false, error: toWireError(e) };
  }
  send(msg);
  // State a request changed (a job queued, cancelled or failed at once) follows its reply.
  if ('model' in req) flush(req.model);
  else for (const id of hosted.keys()) flush(id);
});
