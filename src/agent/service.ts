// The assistant as a server runs it: tasks started over HTTP in workspaces under one root folder, each key in its
// own folder there, the workspace policies of a settings file, one approval broker for every task, and each task's
// events kept while it runs so that a stream can follow it.

import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HearthError } from '../util/errors.ts';
import { DEFAULT_POLICY, parsePolicy, type Policy } from '../assess/policy.ts';
import { Channel } from '../util/channel.ts';
import { newTaskId, runTask, type AgentDeps, type TaskOptions, type TaskOutcome } from './agent.ts';
import type { AgentEvent, KnowledgeSearch } from './types.ts';
import type { KnowledgeBase } from '../knowledge/knowledge-base.ts';

/** search_knowledge over one vector store of the knowledge base (by id or name); not_found when there is none. */
export function knowledgeSearch(kb: KnowledgeBase, idOrName: string): KnowledgeSearch {
  const store = kb.findStore(idOrName);
  if (!store) throw new HearthError('not_found', `no vector store ${JSON.stringify(idOrName)} (hearth kb ls)`);
  return async (query, max) => (await kb.search(store.id, { query, maxResults: max })).map((h) => ({ filename: h.filename, text: h.text, score: h.score }));
}

/**
 * Workspace policies: `{"default": {"MEDIUM": "human"}, "workspaces": {"/abs/path": {"HIGH": "never"}}}`. The file
 * lives outside every workspace (in HEARTH_HOME), so the agent cannot loosen its own policy.
 */
export interface PolicySettings {
  default?: Policy;
  workspaces: Map<string, Policy>;
}

export function readPolicySettings(path: string | undefined): PolicySettings {
  if (!path) return { workspaces: new Map() };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { workspaces: new Map() };
    throw new HearthError('invalid_argument', `policy file ${path}: ${(e as Error).message}`);
  }
  const o = raw as { default?: unknown; workspaces?: Record<string, unknown> };
  if (typeof o !== 'object' || o === null) throw new HearthError('invalid_argument', `policy file ${path}: an object {default, workspaces}`);
  const workspaces = new Map<string, Policy>();
  for (const [dir, p] of Object.entries(o.workspaces ?? {})) workspaces.set(resolve(dir), parsePolicy(p));
  return { ...(o.default !== undefined ? { default: parsePolicy(o.default) } : {}), workspaces };
}

/** The policy of a workspace: its own, else the file's default, else Hearth's (LOW runs, MEDIUM reviewer, HIGH human). */
export function policyFor(settings: PolicySettings, workspace: string): Policy {
  return settings.workspaces.get(resolve(workspace)) ?? settings.default ?? DEFAULT_POLICY;
}

export interface AgentServiceOptions {
  deps: AgentDeps;
  /** The folder under which HTTP tasks get their workspaces: ROOT/<key id or "local">/<name>. */
  workspaceRoot: string;
  policies?: PolicySettings;
  /** The reviewer model when a request names none. */
  defaultReviewer?: string;
  approvalTimeoutMs?: number;
  /** The knowledge base a task's `knowledge` (a vector store) is searched in. */
  kb?: KnowledgeBase;
}

interface Running {
  readonly events: AgentEvent[];
  readonly listeners: Set<Channel<AgentEvent>>;
  readonly done: Promise<TaskOutcome>;
  readonly abort: AbortController;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class AgentService {
  readonly deps: AgentDeps;
  private readonly o: AgentServiceOptions;
  private readonly running = new Map<string, Running>();

  constructor(o: AgentServiceOptions) {
    this.o = o;
    this.deps = o.deps;
  }

  get approvals() {
    return this.deps.approvals;
  }

  /** The workspace folder of `name` for the key `keyId` (made when missing). */
  workspace(keyId: string | undefined, name: string): string {
    if (!NAME.test(name) || name === '..' || name === '.') {
      throw new HearthError('invalid_argument', `workspace must be a folder name (letters, digits, . _ -, at most 64); got ${JSON.stringify(name)}`);
    }
    const dir = join(this.o.workspaceRoot, keyId ?? 'local', name);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    return dir;
  }

  /** Starts a task; its events can be followed with follow(taskId). */
  start(o: Omit<TaskOptions, 'policy' | 'signal' | 'taskId' | 'knowledge'> & { vectorStore?: string }): { taskId: string; done: Promise<TaskOutcome> } {
    let knowledge: KnowledgeSearch | undefined;
    if (o.vectorStore !== undefined) {
      if (!this.o.kb) throw new HearthError('invalid_argument', 'this server has no knowledge base (it needs the database)');
      knowledge = knowledgeSearch(this.o.kb, o.vectorStore);
    }
    const taskId = newTaskId();
    const abort = new AbortController();
    const entry: Running = { events: [], listeners: new Set(), abort, done: undefined as unknown as Promise<TaskOutcome> };
    const emit = (e: AgentEvent) => {
      entry.events.push(e);
      for (const l of entry.listeners) l.push(e);
    };
    const policy = policyFor(this.o.policies ?? { workspaces: new Map() }, o.workspace);
    const done = runTask(this.deps, {
      ...o, taskId, policy, signal: abort.signal, ownRepo: true, ...(knowledge ? { knowledge } : {}),
      reviewer: o.reviewer ?? this.o.defaultReviewer, approvalTimeoutMs: o.approvalTimeoutMs ?? this.o.approvalTimeoutMs,
    }, emit).finally(() => {
      for (const l of entry.listeners) l.end();
      this.running.delete(taskId);
    });
    (entry as { done: Promise<TaskOutcome> }).done = done;
    this.running.set(taskId, entry);
    return { taskId, done };
  }

  /** The events of a running task so far and then as they come; undefined when it is not running here. */
  follow(taskId: string): Channel<AgentEvent> | undefined {
    const r = this.running.get(taskId);
    if (!r) return undefined;
    const c = new Channel<AgentEvent>();
    for (const e of r.events) c.push(e);
    r.listeners.add(c);
    c.onReturn = () => r.listeners.delete(c);
    return c;
  }

  /** Cancels every running task and denies what waits for approval. */
  async close(): Promise<void> {
    for (const r of this.running.values()) r.abort.abort();
    await this.deps.approvals.close();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }
}
