// The assistant's HTTP API: POST /api/v1/agent/tasks (a task, its steps as server-sent events), GET
// /api/v1/agent/tasks/{id} (its record), GET /api/v1/approvals and POST /api/v1/approvals/{id} (approve or deny an
// action waiting for a person). An approval is answered by an admin key or by the key that started its task (the
// owner); a key sees only the approvals it may answer.

import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HearthError } from '../../util/errors.ts';
import { FieldError } from '../../api/validate.ts';
import type { AgentService } from '../../agent/service.ts';
import { parseScript } from '../../agent/tools.ts';
import type { AgentEvent } from '../../agent/types.ts';
import type { ApprovalRow } from '../../store/agent.ts';
import { requireJsonContentType } from '../middleware/json-body.ts';
import { checkModel } from '../middleware/auth.ts';
import { canonicalName } from '../../library/describe.ts';
import { sseEvent, STREAM_HEADERS } from '../sse.ts';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** An approval as the API (and the web UI's approvals page) shows it. */
export function approvalJson(a: ApprovalRow) {
  const r = a.request as {
    task?: string; action?: Record<string, unknown>;
    risk?: { level: string; findings: { rule: string; reason: string; line: number; level: string }[] };
    review?: { verdict: string; reasons: string[]; model: string };
  };
  return {
    id: a.id, object: 'approval', status: a.status, created_at: iso(a.createdAt), expires_at: iso(a.expiresAt), task_id: a.taskId, action_id: a.actionId,
    task: r.task, action: r.action,
    risk: { level: r.risk?.level, findings: (r.risk?.findings ?? []).map((f) => ({ rule: f.rule, level: f.level, message: f.reason, line: f.line })) },
    ...(r.review ? { review: r.review } : {}),
    ...(a.decidedBy !== undefined ? { decided_by: a.decidedBy, decided_at: iso(a.decidedAt), channel: a.channel } : {}),
  };
}

/** Whether the request's key may answer (and see) an approval: admin, its task's owner, or no keys at all. */
function mayAnswer(request: FastifyRequest, a: ApprovalRow): boolean {
  const key = request.hearthAuth?.key;
  if (!key) return true;
  return key.scopes.includes('admin') || (a.keyId !== undefined && a.keyId === key.id);
}

function body(x: unknown): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new HearthError('invalid_argument', 'the request body must be a JSON object');
  return x as Record<string, unknown>;
}

function str(b: Record<string, unknown>, k: string, required: true): string;
function str(b: Record<string, unknown>, k: string, required?: false): string | undefined;
function str(b: Record<string, unknown>, k: string, required = false): string | undefined {
  const v = b[k];
  if (v === undefined || v === null) {
    if (required) throw new FieldError(k, `${k} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new FieldError(k, `${k} must be a string`);
  return v;
}

function positive(b: Record<string, unknown>, k: string, max: number): number | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw new FieldError(k, `${k} must be an integer from 1 to ${max}`);
  return v;
}

const KNOWN = new Set(['task', 'workspace', 'model', 'reviewer', 'script', 'max_steps', 'approval_timeout_ms', 'seed', 'stream', 'vector_store_id']);

export function agentRoutes(app: FastifyInstance, service: AgentService): void {
  app.get('/api/v1/approvals', async (request) => {
    const data = service.approvals.list().filter((a) => mayAnswer(request, a)).map(approvalJson);
    return { object: 'list', data };
  });

  app.get('/api/v1/approvals/:id', async (request) => {
    const a = service.approvals.get((request.params as { id: string }).id);
    if (!a || !mayAnswer(request, a)) throw new HearthError('not_found', `no approval ${(request.params as { id: string }).id}`);
    return approvalJson(a);
  });

  app.post('/api/v1/approvals/:id', async (request) => {
    requireJsonContentType(request);
    const id = (request.params as { id: string }).id;
    const b = body(request.body);
    const decision = b.decision;
    if (decision !== 'approve' && decision !== 'deny') throw new FieldError('decision', 'decision must be "approve" or "deny"');
    for (const k of Object.keys(b)) if (k !== 'decision') throw new FieldError(k, `unknown field ${k}`);
    const a = service.approvals.get(id);
    // another key's approval is not there for this one (as a missing one)
    if (!a || !mayAnswer(request, a)) throw new HearthError('not_found', `no approval ${id}`);
    const key = request.hearthAuth?.key;
    const out = service.approvals.answer(id, decision === 'approve', key?.name ?? 'local', 'http');
    if (!out.ok) {
      const row = out.row ?? a;
      throw new HearthError('conflict', `approval ${id} was already ${row.status}${row.decidedBy ? ` by ${row.decidedBy}` : ''}`);
    }
    return approvalJson(out.row);
  });

  app.post('/api/v1/agent/tasks', async (request, reply) => {
    requireJsonContentType(request);
    const b = body(request.body);
    for (const k of Object.keys(b)) if (!KNOWN.has(k)) throw new FieldError(k, `unknown field ${k}`);
    const task = str(b, 'task', true);
    const model = str(b, 'model', true);
    const key = request.hearthAuth?.key;
    const workspace = service.workspace(key?.id, str(b, 'workspace') ?? 'default');
    let script;
    if (b.script !== undefined) {
      try {
        script = parseScript(b.script, 'script');
      } catch (e) {
        throw new FieldError('script', (e as Error).message);
      }
    }
    const seed = b.seed === undefined ? undefined : positive(b, 'seed', 2 ** 31);
    const reviewer = str(b, 'reviewer');
    // the key's model allow-list covers the reviewer too (the body's model is checked with every request)
    if (key && reviewer !== undefined) {
      try {
        checkModel(key, reviewer, canonicalName);
      } catch (e) {
        throw new FieldError('reviewer', (e as Error).message, 'forbidden');
      }
    }
    const vectorStore = str(b, 'vector_store_id');
    let started;
    try {
      started = service.start({
      task, model, workspace, ...(reviewer ? { reviewer } : {}), ...(script ? { script } : {}), ...(key ? { keyId: key.id } : {}),
      maxSteps: positive(b, 'max_steps', 100), approvalTimeoutMs: positive(b, 'approval_timeout_ms', 24 * 3600_000), ...(seed !== undefined ? { seed } : {}),
        ...(vectorStore !== undefined ? { vectorStore } : {}),
      });
    } catch (e) {
      if (e instanceof HearthError && vectorStore !== undefined) throw new FieldError('vector_store_id', e.message, e.code);
      throw e;
    }
    const events = service.follow(started.taskId)!;
    // Errors before the task starts (an unknown model, a busy workspace) are the request's status.
    const first = events[Symbol.asyncIterator]();
    const head = await Promise.race([first.next(), started.done.then(() => undefined)]);
    // the stream ended without an event: the task failed to start (its error, from done, is the answer)
    if (!head || head.done) await started.done;
    if (b.stream === false) {
      const outcome = await started.done;
      return reply.code(200).send({ object: 'agent.task', id: outcome.taskId, status: outcome.status, summary: outcome.summary, commits: outcome.commits, ...(outcome.error ? { error: outcome.error } : {}) });
    }
    async function* frames(): AsyncGenerator<string> {
      if (head && !head.done) yield frame(head.value);
      for (;;) {
        const n = await first.next();
        if (n.done) break;
        yield frame(n.value);
      }
    }
    reply.headers(STREAM_HEADERS.sse);
    return reply.send(Readable.from(frames(), { objectMode: false }));
  });

  app.get('/api/v1/agent/tasks/:id', async (request) => {
    const id = (request.params as { id: string }).id;
    const store = service.deps.store;
    const t = store.task(id);
    const key = request.hearthAuth?.key;
    if (!t || (key && !key.scopes.includes('admin') && t.keyId !== key.id)) throw new HearthError('not_found', `no task ${id}`);
    return {
      object: 'agent.task', id: t.id, status: t.status, task: t.task, model: t.model, reviewer: t.reviewer ?? null, workspace: t.workspace,
      created_at: iso(t.createdAt), finished_at: iso(t.finishedAt) ?? null, summary: t.summary ?? null, error: t.error ?? null,
      actions: store.actions(id).map((a) => ({
        id: a.id, seq: a.seq, tool: a.tool, arguments: a.arguments, status: a.status, decision: a.decision ?? null, decided_by: a.decidedBy ?? null,
        reason: a.reason ?? null, result: a.result ?? null, commit: a.commit ?? null,
      })),
      assessments: store.assessments(id).map((x) => ({ action_id: x.actionId, language: x.language ?? null, level: x.level, findings: x.findings })),
      reviews: store.reviews(id).map((x) => ({ action_id: x.actionId, model: x.model, verdict: x.verdict, reasons: x.reasons })),
      approvals: store.approvalsOfTask(id).map(approvalJson),
    };
  });
}

const frame = (e: AgentEvent): string => sseEvent(e.type, e);
