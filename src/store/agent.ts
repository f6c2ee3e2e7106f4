// The assistant's record (migration 8): its tasks, every action (a tool call) with the decision taken on it and who
// took it, each action's risk assessment and review, and the approvals asked of a person. Rows are plain values
// here; src/agent/ gives them meaning.
//
// An approval is answered at most once: decideApproval() changes a row only while it is pending, in one UPDATE, so
// of two answers arriving together (the HTTP API and Discord) the first one wins and the other learns it lost.

import type { StatementSync } from 'node:sqlite';
import type { Database } from './database.ts';

export type TaskStatus = 'running' | 'done' | 'failed' | 'cancelled';
export type ActionStatus = 'proposed' | 'ran' | 'denied' | 'failed';
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

export interface TaskRow {
  id: string;
  createdAt: number;
  keyId?: string;
  workspace: string;
  task: string;
  model: string;
  reviewer?: string;
  status: TaskStatus;
  summary?: string;
  error?: string;
  finishedAt?: number;
}

export interface ActionRow {
  id: string;
  taskId: string;
  seq: number;
  createdAt: number;
  tool: string;
  arguments: unknown;
  status: ActionStatus;
  decision?: 'run' | 'deny';
  decidedBy?: string;
  reason?: string;
  result?: unknown;
  commit?: string;
  finishedAt?: number;
}

export interface AssessmentRow {
  actionId: string;
  createdAt: number;
  language?: string;
  level: string;
  findings: unknown[];
}

export interface ReviewRow {
  actionId: string;
  createdAt: number;
  model: string;
  verdict: string;
  reasons: string[];
}

export interface ApprovalRow {
  id: string;
  actionId: string;
  taskId: string;
  keyId?: string;
  createdAt: number;
  expiresAt: number;
  status: ApprovalStatus;
  decidedBy?: string;
  channel?: string;
  decidedAt?: number;
  /** What the person is shown: task, action, risk, review. */
  request: Record<string, unknown>;
}

type Raw = Record<string, string | number | null>;
const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
const json = (v: string | number | null): unknown => (v === null ? undefined : JSON.parse(String(v)));

function taskOf(r: Raw): TaskRow {
  return {
    id: String(r.id), createdAt: Number(r.created_at), keyId: opt(r.key_id as string | null), workspace: String(r.workspace), task: String(r.task),
    model: String(r.model), reviewer: opt(r.reviewer as string | null), status: r.status as TaskStatus, summary: opt(r.summary as string | null),
    error: opt(r.error as string | null), finishedAt: r.finished_at === null ? undefined : Number(r.finished_at),
  };
}

function actionOf(r: Raw): ActionRow {
  return {
    id: String(r.id), taskId: String(r.task_id), seq: Number(r.seq), createdAt: Number(r.created_at), tool: String(r.tool),
    arguments: json(r.arguments), status: r.status as ActionStatus, decision: opt(r.decision as 'run' | 'deny' | null),
    decidedBy: opt(r.decided_by as string | null), reason: opt(r.reason as string | null), result: json(r.result),
    commit: opt(r.commit_sha as string | null), finishedAt: r.finished_at === null ? undefined : Number(r.finished_at),
  };
}

function approvalOf(r: Raw): ApprovalRow {
  return {
    id: String(r.id), actionId: String(r.action_id), taskId: String(r.task_id), keyId: opt(r.key_id as string | null),
    createdAt: Number(r.created_at), expiresAt: Number(r.expires_at), status: r.status as ApprovalStatus,
    decidedBy: opt(r.decided_by as string | null), channel: opt(r.channel as string | null),
    decidedAt: r.decided_at === null ? undefined : Number(r.decided_at), request: JSON.parse(String(r.request)) as Record<string, unknown>,
  };
}

export class AgentStore {
  private readonly database: Database;
  private readonly now: () => number;
  private readonly q: Record<string, StatementSync>;

  constructor(database: Database, now: () => number = Date.now) {
    this.database = database;
    this.now = now;
    const p = (sql: string) => database.db.prepare(sql);
    this.q = {
      insertTask: p('INSERT INTO agent_tasks (id, created_at, key_id, workspace, task, model, reviewer, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      finishTask: p('UPDATE agent_tasks SET status = ?, summary = ?, error = ?, finished_at = ? WHERE id = ?'),
      task: p('SELECT * FROM agent_tasks WHERE id = ?'),
      tasks: p('SELECT * FROM agent_tasks ORDER BY created_at DESC, id LIMIT ?'),
      insertAction: p('INSERT INTO agent_actions (id, task_id, seq, created_at, tool, arguments, status) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      decideAction: p('UPDATE agent_actions SET decision = ?, decided_by = ?, reason = ? WHERE id = ?'),
      finishAction: p('UPDATE agent_actions SET status = ?, result = ?, commit_sha = ?, finished_at = ? WHERE id = ?'),
      actions: p('SELECT * FROM agent_actions WHERE task_id = ? ORDER BY seq'),
      insertAssessment: p('INSERT INTO agent_assessments (action_id, created_at, language, level, findings) VALUES (?, ?, ?, ?, ?)'),
      assessments: p('SELECT a.* FROM agent_assessments a JOIN agent_actions x ON x.id = a.action_id WHERE x.task_id = ? ORDER BY a.id'),
      insertReview: p('INSERT INTO agent_reviews (action_id, created_at, model, verdict, reasons) VALUES (?, ?, ?, ?, ?)'),
      reviews: p('SELECT r.* FROM agent_reviews r JOIN agent_actions x ON x.id = r.action_id WHERE x.task_id = ? ORDER BY r.id'),
      insertApproval: p('INSERT INTO agent_approvals (id, action_id, task_id, key_id, created_at, expires_at, status, request) VALUES (?, ?, ?, ?, ?, ?, \'pending\', ?)'),
      decideApproval: p("UPDATE agent_approvals SET status = ?, decided_by = ?, channel = ?, decided_at = ? WHERE id = ? AND status = 'pending'"),
      approval: p('SELECT * FROM agent_approvals WHERE id = ?'),
      approvals: p('SELECT * FROM agent_approvals ORDER BY created_at DESC, id LIMIT ?'),
      approvalsOfTask: p('SELECT * FROM agent_approvals WHERE task_id = ? ORDER BY created_at, id'),
      expirePending: p("UPDATE agent_approvals SET status = 'expired', decided_by = 'restart', channel = 'restart', decided_at = ? WHERE status = 'pending'"),
      abandonRunning: p("UPDATE agent_tasks SET status = 'failed', error = 'the process running it stopped', finished_at = ? WHERE status = 'running'"),
    };
  }

  createTask(t: Omit<TaskRow, 'createdAt' | 'status'>): TaskRow {
    const createdAt = this.now();
    this.q.insertTask.run(t.id, createdAt, t.keyId ?? null, t.workspace, t.task, t.model, t.reviewer ?? null, 'running');
    return { ...t, createdAt, status: 'running' };
  }

  finishTask(id: string, status: Exclude<TaskStatus, 'running'>, summary: string | undefined, error?: string): void {
    this.q.finishTask.run(status, summary ?? null, error ?? null, this.now(), id);
  }

  task(id: string): TaskRow | undefined {
    const r = this.q.task.get(id) as Raw | undefined;
    return r && taskOf(r);
  }

  tasks(limit = 100): TaskRow[] {
    return (this.q.tasks.all(limit) as Raw[]).map(taskOf);
  }

  createAction(a: { id: string; taskId: string; seq: number; tool: string; arguments: unknown }): void {
    this.q.insertAction.run(a.id, a.taskId, a.seq, this.now(), a.tool, JSON.stringify(a.arguments ?? null), 'proposed');
  }

  decideAction(id: string, decision: 'run' | 'deny', by: string, reason: string): void {
    this.q.decideAction.run(decision, by, reason, id);
  }

  finishAction(id: string, status: Exclude<ActionStatus, 'proposed'>, result: unknown, commit?: string): void {
    this.q.finishAction.run(status, JSON.stringify(result ?? null), commit ?? null, this.now(), id);
  }

  actions(taskId: string): ActionRow[] {
    return (this.q.actions.all(taskId) as Raw[]).map(actionOf);
  }

  addAssessment(actionId: string, language: string | undefined, level: string, findings: readonly unknown[]): void {
    this.q.insertAssessment.run(actionId, this.now(), language ?? null, level, JSON.stringify(findings));
  }

  assessments(taskId: string): AssessmentRow[] {
    return (this.q.assessments.all(taskId) as Raw[]).map((r) => ({
      actionId: String(r.action_id), createdAt: Number(r.created_at), language: opt(r.language as string | null), level: String(r.level),
      findings: JSON.parse(String(r.findings)) as unknown[],
    }));
  }

  addReview(actionId: string, model: string, verdict: string, reasons: readonly string[]): void {
    this.q.insertReview.run(actionId, this.now(), model, verdict, JSON.stringify(reasons));
  }

  reviews(taskId: string): ReviewRow[] {
    return (this.q.reviews.all(taskId) as Raw[]).map((r) => ({
      actionId: String(r.action_id), createdAt: Number(r.created_at), model: String(r.model), verdict: String(r.verdict),
      reasons: JSON.parse(String(r.reasons)) as string[],
    }));
  }

  createApproval(a: Omit<ApprovalRow, 'createdAt' | 'status'> & { createdAt?: number }): ApprovalRow {
    const createdAt = a.createdAt ?? this.now();
    this.q.insertApproval.run(a.id, a.actionId, a.taskId, a.keyId ?? null, createdAt, a.expiresAt, JSON.stringify(a.request));
    return { ...a, createdAt, status: 'pending' };
  }

  /** Answers a pending approval; false when it was no longer pending (another answer, or the timeout, came first). */
  decideApproval(id: string, status: Exclude<ApprovalStatus, 'pending'>, by: string, channel: string): boolean {
    return Number(this.q.decideApproval.run(status, by, channel, this.now(), id).changes) === 1;
  }

  approval(id: string): ApprovalRow | undefined {
    const r = this.q.approval.get(id) as Raw | undefined;
    return r && approvalOf(r);
  }

  approvals(limit = 200): ApprovalRow[] {
    return (this.q.approvals.all(limit) as Raw[]).map(approvalOf);
  }

  approvalsOfTask(taskId: string): ApprovalRow[] {
    return (this.q.approvalsOfTask.all(taskId) as Raw[]).map(approvalOf);
  }

  /**
   * At start: approvals still pending and tasks still running belong to a process that is gone (nothing waits on
   * them any more): they are expired and failed, so that no one approves an action that will never run.
   */
  settleAbandoned(): void {
    this.database.transaction(() => {
      const t = this.now();
      this.q.expirePending.run(t);
      this.q.abandonRunning.run(t);
    });
  }
}
