// Approvals: an action that needs a person waits here. Its request is a row in the store (GET /api/v1/approvals
// lists it), every channel is told (Discord posts it), and the first answer from any of them wins: the store
// changes a row only while it is pending. No answer before the deadline is a denial by `timeout`.

import { randomBytes } from 'node:crypto';
import type { AgentStore, ApprovalRow } from '../store/agent.ts';
import type { Finding, RiskLevel } from '../assess/types.ts';
import type { ActionView, Review } from './types.ts';

export const DEFAULT_APPROVAL_TIMEOUT_MS = 10 * 60_000;

/** What a person is shown, as the approvals API returns it (ui/src/approvals.tsx reads this shape). */
export interface ApprovalRequest {
  task: string;
  action: ActionView;
  risk: { level: RiskLevel; findings: readonly Finding[] };
  review?: Review;
}

export interface HumanAnswer {
  approved: boolean;
  /** Who answered: an API key's name, `discord:USER`, or `timeout`. */
  by: string;
  /** Where: http, a channel's name (discord, terminal), or timeout. */
  channel: string;
}

/** Somewhere else a person can answer (Discord): told of each approval; it calls `answer` with what it hears. */
export interface ApprovalChannel {
  readonly name: string;
  ask(approval: ApprovalRow & { request: ApprovalRequest & Record<string, unknown> },
    answer: (approved: boolean, by: string) => boolean): Promise<void>;
  /** The approval was answered elsewhere or expired: the channel may update what it posted. */
  settled?(approval: ApprovalRow): void;
  /** A task's status changed (started, finished): one line for the owner. */
  status?(text: string): void;
  close(): Promise<void> | void;
}

export interface PendingApproval {
  readonly row: ApprovalRow;
  /** Settles with the first answer (a timeout is a denial); never rejects. */
  readonly answer: Promise<HumanAnswer>;
}

export type AnswerOutcome = { ok: true; row: ApprovalRow } | { ok: false; reason: 'not_found' | 'decided'; row?: ApprovalRow };

export class ApprovalBroker {
  private readonly store: AgentStore;
  private readonly timeoutMs: number;
  private readonly channels: ApprovalChannel[] = [];
  private readonly waiting = new Map<string, { resolve: (a: HumanAnswer) => void; timer: NodeJS.Timeout }>();
  private readonly log: (msg: string) => void;

  /**
   * `settleAbandoned`: this process owns the store's tasks (hearth serve): what a stopped one left pending can never
   * be acted on, so it is expired ('restart' decided it) and its running tasks failed.
   */
  constructor(store: AgentStore, o: { timeoutMs?: number; log?: (msg: string) => void; settleAbandoned?: boolean } = {}) {
    this.store = store;
    this.timeoutMs = o.timeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
    this.log = o.log ?? (() => undefined);
    if (o.settleAbandoned) store.settleAbandoned();
  }

  addChannel(c: ApprovalChannel): void {
    this.channels.push(c);
  }

  /** Asks for a person's answer about an action; `timeoutMs` overrides the broker's deadline. */
  request(o: { actionId: string; taskId: string; keyId?: string; request: ApprovalRequest; timeoutMs?: number }): PendingApproval {
    const id = `apr_${randomBytes(12).toString('hex')}`;
    const timeout = o.timeoutMs ?? this.timeoutMs;
    const row = this.store.createApproval({
      id, actionId: o.actionId, taskId: o.taskId, keyId: o.keyId, expiresAt: Date.now() + timeout, request: o.request as unknown as Record<string, unknown>,
    });
    const answer = new Promise<HumanAnswer>((resolve) => {
      const timer = setTimeout(() => {
        if (this.store.decideApproval(id, 'expired', 'timeout', 'timeout')) this.settle(id, { approved: false, by: 'timeout', channel: 'timeout' });
      }, timeout);
      this.waiting.set(id, { resolve, timer });
    });
    for (const c of this.channels) {
      const full = row as ApprovalRow & { request: ApprovalRequest & Record<string, unknown> };
      c.ask(full, (approved, by) => this.answer(id, approved, by, c.name).ok).catch((e: Error) => this.log(`approval channel ${c.name}: ${e.message}`));
    }
    return { row, answer };
  }

  /** A person's answer; the first one for an approval wins, later ones get `decided`. */
  answer(id: string, approved: boolean, by: string, channel: string): AnswerOutcome {
    const row = this.store.approval(id);
    if (!row) return { ok: false, reason: 'not_found' };
    if (!this.store.decideApproval(id, approved ? 'approved' : 'denied', by, channel)) return { ok: false, reason: 'decided', row: this.store.approval(id) };
    this.settle(id, { approved, by, channel });
    return { ok: true, row: this.store.approval(id)! };
  }

  /** Tells every channel that keeps its owner posted (Discord) how a task stands. */
  status(text: string): void {
    for (const c of this.channels) {
      try {
        c.status?.(text);
      } catch (e) {
        this.log(`approval channel ${c.name}: ${(e as Error).message}`);
      }
    }
  }

  get(id: string): ApprovalRow | undefined {
    return this.store.approval(id);
  }

  list(): ApprovalRow[] {
    return this.store.approvals();
  }

  private settle(id: string, a: HumanAnswer): void {
    const w = this.waiting.get(id);
    if (w) {
      clearTimeout(w.timer);
      this.waiting.delete(id);
      w.resolve(a);
    }
    const row = this.store.approval(id);
    if (row) for (const c of this.channels) c.settled?.(row);
  }

  /** Denies what still waits (the server is stopping) and closes the channels. */
  async close(): Promise<void> {
    for (const id of [...this.waiting.keys()]) {
      if (this.store.decideApproval(id, 'expired', 'shutdown', 'timeout')) this.settle(id, { approved: false, by: 'shutdown', channel: 'timeout' });
    }
    await Promise.all(this.channels.map((c) => c.close()));
  }
}
