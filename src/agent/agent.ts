// The assistant's loop: the model plans, then calls one tool per turn (tool_choice required, so a call is all it may
// write); each call is assessed, reviewed and approved as the workspace's policy says, run (code only in the
// sandbox), committed to the workspace's git repository with its decision context, and recorded in the store.
//
//   plan → [ call → assess → decide (review? human?) → run | deny → commit → result to the model ]* → finish

import { randomBytes } from 'node:crypto';
import { HearthError } from '../util/errors.ts';
import { assess } from '../assess/assess.ts';
import { decide, DEFAULT_POLICY, type Decision, type Policy } from '../assess/policy.ts';
import type { Assessment, Finding, RiskLevel } from '../assess/types.ts';
import type { ChatMessage } from '../chat/template.ts';
import type { ToolSpec } from '../chat/tools.ts';
import type { NativeRequest } from '../api/native.ts';
import type { Provider } from '../provider/types.ts';
import type { Sandbox, SandboxLimits, SandboxResult } from '../sandbox/types.ts';
import type { AgentStore } from '../store/agent.ts';
import type { ApprovalBroker } from './approvals.ts';
import { commitAll, commitMessage, fileDiff, openRepo, withGitAside, type Repo } from './git.ts';
import { review as askReviewer } from './review.ts';
import {
  languageOf, listWorkspace, place, readArguments, readWorkspaceFile, scriptedSpec, TOOL_SPECS, writeWorkspaceFile, type ToolArgs,
} from './tools.ts';
import { TOOL_NAMES, type ActionView, type AgentEvent, type KnowledgeSearch, type Review, type ScriptStep, type ToolName } from './types.ts';

export interface ModelLeases {
  acquire(name: string): Promise<{ provider: Provider; release(): void }>;
}

export interface AgentDeps {
  models: ModelLeases;
  /** The sandbox, opened when code first runs; rejecting with sandbox_unavailable means code never runs. */
  sandbox: () => Promise<Sandbox>;
  store: AgentStore;
  approvals: ApprovalBroker;
  knowledge?: KnowledgeSearch;
}

export interface TaskOptions {
  task: string;
  workspace: string;
  model: string;
  reviewer?: string;
  policy?: Policy;
  /** Each turn's call fixed in advance (the grammar allows only it): see parseScript. */
  script?: readonly ScriptStep[];
  /** Turns at most (default 12). */
  maxSteps?: number;
  /** The API key that started it: its owner, who may answer its approvals. */
  keyId?: string;
  approvalTimeoutMs?: number;
  limits?: Partial<SandboxLimits>;
  seed?: number;
  signal?: AbortSignal;
  taskId?: string;
  /** search_knowledge's source for this task (else the deps' one). */
  knowledge?: KnowledgeSearch;
  /** The workspace is a repository of its own, even inside another one (the server's workspaces). */
  ownRepo?: boolean;
}

export interface TaskOutcome {
  taskId: string;
  status: 'done' | 'failed' | 'cancelled';
  summary: string;
  commits: string[];
  error?: string;
}

const busy = new Set<string>();
const newId = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;
const cut = (s: string, n: number) => (s.length > n ? s.slice(0, n) + `…(${s.length - n} more characters)` : s);

const SYSTEM = 'You are Hearth\'s coding assistant. You change files in a git workspace and run programs in a sandbox ' +
  '(no network; the workspace is the only writable folder). Call one tool per turn; call finish when the task is done.';

/** A task's id, made before it starts (so that a caller can name it at once). */
export const newTaskId = (): string => newId('task_');

/** Runs one task to its end; every step is emitted as it happens and recorded in the store. */
export async function runTask(deps: AgentDeps, o: TaskOptions, emit: (e: AgentEvent) => void = () => undefined): Promise<TaskOutcome> {
  if (!o.task.trim()) throw new HearthError('invalid_argument', 'the task is empty');
  const repo = await openRepo(o.workspace, o.ownRepo ?? false);
  if (busy.has(repo.dir)) throw new HearthError('conflict', `a task is already running in ${repo.dir}`);
  busy.add(repo.dir);
  const taskId = o.taskId ?? newTaskId();
  const commits: string[] = [];
  let lease: { provider: Provider; release(): void } | undefined;
  try {
    lease = await deps.models.acquire(o.model);
    deps.store.createTask({ id: taskId, keyId: o.keyId, workspace: repo.dir, task: o.task, model: o.model, reviewer: o.reviewer });
    emit({ type: 'task', taskId, workspace: repo.dir, model: o.model, ...(o.reviewer ? { reviewer: o.reviewer } : {}) });
    deps.approvals.status(`${taskId} started in ${repo.dir}: ${cut(o.task, 200)}`);
    const run = new TaskRun(deps, o, repo, taskId, lease.provider, emit, commits);
    const summary = await run.loop();
    deps.store.finishTask(taskId, 'done', summary);
    const out: TaskOutcome = { taskId, status: 'done', summary, commits };
    emit({ type: 'result', ...out });
    deps.approvals.status(`${taskId} done, ${commits.length} commit(s): ${cut(summary, 300)}`);
    return out;
  } catch (e) {
    const cancelled = o.signal?.aborted === true;
    const error = (e as Error).message;
    const status = cancelled ? 'cancelled' : 'failed';
    if (deps.store.task(taskId)) deps.store.finishTask(taskId, status, undefined, error);
    else if (!lease) throw e; // the model could not be had: nothing started
    const out: TaskOutcome = { taskId, status, summary: '', commits, error };
    emit({ type: 'result', ...out });
    deps.approvals.status(`${taskId} ${status}: ${cut(error, 300)}`);
    return out;
  } finally {
    lease?.release();
    busy.delete(repo.dir);
  }
}

interface StepOutcome {
  status: 'ran' | 'denied' | 'failed';
  output: string;
  commit?: string;
}

class TaskRun {
  private readonly messages: ChatMessage[] = [];
  private plan = '';
  private reviewer: { provider: Provider; release(): void } | undefined;
  private readonly policy: Policy;
  private readonly deps: AgentDeps;
  private readonly o: TaskOptions;
  private readonly repo: Repo;
  private readonly taskId: string;
  private readonly model: Provider;
  private readonly emit: (e: AgentEvent) => void;
  private readonly commits: string[];

  constructor(deps: AgentDeps, o: TaskOptions, repo: Repo, taskId: string, model: Provider, emit: (e: AgentEvent) => void, commits: string[]) {
    this.deps = deps;
    this.o = o;
    this.repo = repo;
    this.taskId = taskId;
    this.model = model;
    this.emit = emit;
    this.commits = commits;
    this.policy = o.policy ?? DEFAULT_POLICY;
  }

  private sampling() {
    return { temperature: 0.7, ...(this.o.seed !== undefined ? { seed: this.o.seed } : {}) };
  }

  async loop(): Promise<string> {
    try {
      this.plan = await this.makePlan();
      this.emit({ type: 'plan', text: this.plan });
      this.messages.push({ role: 'system', content: SYSTEM }, { role: 'user', content: this.o.task });
      if (this.plan) this.messages.push({ role: 'assistant', content: `Plan: ${this.plan}` });
      const max = this.o.maxSteps ?? 12;
      for (let step = 0; step < max; step++) {
        this.o.signal?.throwIfAborted();
        if (this.o.script && step >= this.o.script.length) return this.summary('the script ended');
        const scripted = this.o.script?.[step];
        const finished = await this.turn(step, scripted);
        if (finished !== undefined) return this.summary(finished);
      }
      return this.summary(`stopped after ${max} steps`);
    } finally {
      this.reviewer?.release();
    }
  }

  private summary(end: string): string {
    return [this.plan && `Plan: ${this.plan}`, end].filter(Boolean).join('\n');
  }

  private async makePlan(): Promise<string> {
    const r = await this.generate([
      { role: 'system', content: `${SYSTEM} First write a short plan, in one or two sentences.` },
      { role: 'user', content: this.o.task },
    ], undefined, 64);
    return r.text.trim();
  }

  private async generate(messages: ChatMessage[], tools: { specs: ToolSpec[]; choice: 'required' | { name: string } } | undefined, maxTokens: number) {
    const request: NativeRequest = {
      model: this.model.card.id, n: 1, maxTokens, stop: [], stream: false, sampling: this.sampling(),
      prompts: [{ kind: 'chat', messages, ...(tools ? { tools: tools.specs, toolChoice: tools.choice, parallelToolCalls: false } : {}) }],
    };
    const [choice] = await (await this.model.generate(request, this.o.signal)).collect();
    if (!choice) throw new HearthError('internal', 'the model gave no choice');
    return choice;
  }

  /** One turn: the model's call, and what became of it. Returns the finish summary when the model finished. */
  private async turn(step: number, scripted: ScriptStep | undefined): Promise<string | undefined> {
    const specs = scripted ? [scriptedSpec(scripted)] : TOOL_NAMES.map((n) => TOOL_SPECS[n]);
    const choice = await this.generate(this.messages, { specs, choice: scripted ? { name: scripted.tool } : 'required' }, 1024);
    const call = choice.toolCalls?.[0];
    if (!call) throw new HearthError('invalid_argument', `the model made no tool call (it wrote: ${cut(choice.text, 200)})`);
    const actionId = newId('act_');
    let args: unknown;
    try {
      args = JSON.parse(call.arguments);
    } catch {
      args = call.arguments;
    }
    this.deps.store.createAction({ id: actionId, taskId: this.taskId, seq: step, tool: call.name, arguments: args });
    this.emit({ type: 'tool_call', actionId, step, tool: call.name, arguments: args });
    this.messages.push({ role: 'assistant', content: choice.text, toolCalls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }] });

    let parsed: ToolArgs;
    try {
      if (!TOOL_NAMES.includes(call.name as ToolName)) throw new HearthError('invalid_argument', `there is no tool ${call.name}`);
      parsed = readArguments(call.name as ToolName, args);
    } catch (e) {
      const output = `error: ${(e as Error).message}`;
      this.deps.store.finishAction(actionId, 'failed', { error: output });
      this.emit({ type: 'tool_result', actionId, status: 'failed', output });
      this.messages.push({ role: 'tool', content: output, toolCallId: call.id });
      return undefined;
    }
    if (parsed.tool === 'finish') {
      this.deps.store.decideAction(actionId, 'run', 'policy', 'finish ends the task');
      this.deps.store.finishAction(actionId, 'ran', { summary: parsed.summary });
      return parsed.summary;
    }
    const reasoning = [this.plan && `Plan: ${this.plan}`, choice.reasoning, choice.text].filter((s) => s && s.trim()).join('\n');
    const outcome = await this.act(actionId, parsed, reasoning);
    this.deps.store.finishAction(actionId, outcome.status, { output: outcome.output }, outcome.commit);
    this.emit({ type: 'tool_result', actionId, status: outcome.status, output: outcome.output, ...(outcome.commit ? { commit: outcome.commit } : {}) });
    this.messages.push({ role: 'tool', content: cut(outcome.output, 1500), toolCallId: call.id });
    return undefined;
  }

  /** What the action is, and its risk. */
  private async prepare(a: Exclude<ToolArgs, { tool: 'finish' }>): Promise<{ view: ActionView; assessment: Assessment; abs?: string; code?: string }> {
    const none = (level: RiskLevel = 'LOW', findings: Finding[] = []): Assessment => ({ language: 'bash', level, findings });
    const blocked = (view: ActionView, f: Finding) => ({ view, assessment: none('BLOCKED', [f]) });
    switch (a.tool) {
      case 'read_file': case 'list_files': {
        const view: ActionView = { tool: a.tool, summary: `${a.tool} ${a.path}`, path: a.path };
        const p = place(this.repo.dir, a.path);
        return p.ok ? { view, assessment: none(), abs: p.abs } : blocked(view, p.finding);
      }
      case 'search_knowledge':
        return { view: { tool: a.tool, summary: `search_knowledge ${JSON.stringify(a.query)}` }, assessment: none() };
      case 'write_file': {
        const p = place(this.repo.dir, a.path);
        const language = languageOf(a.path);
        if (!p.ok) return blocked({ tool: a.tool, summary: `write_file ${a.path}`, path: a.path, code: a.content }, p.finding);
        const before = readWorkspaceFile(p.abs);
        const diff = await fileDiff(p.rel, before, a.content);
        const view: ActionView = { tool: a.tool, summary: `${before === null ? 'create' : 'change'} ${p.rel}`, path: p.rel, diff, ...(language ? { language, code: a.content } : {}) };
        // A program is rated by what it would do when run: writing it is where it enters the workspace.
        return { view, assessment: language ? await assess(language, a.content) : none(), abs: p.abs };
      }
      case 'run_code': {
        let code = a.code;
        let path: string | undefined;
        if (a.path !== undefined) {
          const p = place(this.repo.dir, a.path);
          if (!p.ok) return blocked({ tool: a.tool, summary: `run ${a.path}`, path: a.path, language: a.language }, p.finding);
          const text = readWorkspaceFile(p.abs);
          if (text === null) throw new HearthError('not_found', `${a.path} does not exist in the workspace`);
          code = text;
          path = p.rel;
        }
        const view: ActionView = { tool: a.tool, summary: path ? `run ${path} (${a.language})` : `run ${a.language} code`, language: a.language, code: code!, ...(path ? { path } : {}) };
        return { view, assessment: await assess(a.language, code!), code: code! };
      }
    }
  }

  private async act(actionId: string, a: Exclude<ToolArgs, { tool: 'finish' }>, reasoning: string): Promise<StepOutcome> {
    let prepared;
    try {
      prepared = await this.prepare(a);
    } catch (e) {
      return { status: 'failed', output: `error: ${(e as Error).message}` };
    }
    const { view, assessment } = prepared;
    const language = a.tool === 'run_code' ? a.language : view.language;
    this.deps.store.addAssessment(actionId, language, assessment.level, assessment.findings);
    this.emit({ type: 'assessment', actionId, level: assessment.level, findings: assessment.findings, ...(language ? { language } : {}) });

    const { decision, review } = await this.decideOn(actionId, view, assessment);
    this.deps.store.decideAction(actionId, decision.action, decision.by, decision.reason);
    this.emit({ type: 'decision', actionId, action: decision.action, by: decision.by, reason: decision.reason });
    if (decision.action === 'deny') return { status: 'denied', output: `denied (${decision.by}): ${decision.reason}` };

    const context = {
      task: this.o.task, taskId: this.taskId, actionId, reasoning, subject: view.summary,
      risk: riskTrailer(assessment), review: reviewTrailer(review, assessment.level, this.o.reviewer), approvedBy: decision.by,
    };
    try {
      return await this.execute(a, prepared, context);
    } catch (e) {
      return { status: 'failed', output: `error: ${(e as Error).message}` };
    }
  }

  /** Asks the policy, then the reviewer and a person as it says, until it says run or deny. */
  private async decideOn(actionId: string, view: ActionView, assessment: Assessment): Promise<{ decision: Final; review?: Review }> {
    let review: Review | undefined;
    let human: { approved: boolean; by: string } | undefined;
    for (;;) {
      const d = decide(this.policy, {
        level: assessment.level, ...(review ? { review: { verdict: review.verdict, model: review.model } } : {}), ...(human ? { human } : {}),
      });
      if (d.action === 'run' || d.action === 'deny') return { decision: d, review };
      if (d.action === 'ask_reviewer') {
        review = await this.review(actionId, view, assessment);
        continue;
      }
      const pending = this.deps.approvals.request({
        actionId, taskId: this.taskId, keyId: this.o.keyId, timeoutMs: this.o.approvalTimeoutMs,
        request: { task: this.o.task, action: view, risk: { level: assessment.level, findings: assessment.findings }, ...(review && review.model !== NO_REVIEWER ? { review } : {}) },
      });
      this.emit({ type: 'approval_wait', actionId, approvalId: pending.row.id, expiresAt: new Date(pending.row.expiresAt).toISOString() });
      const answer = await pending.answer;
      human = { approved: answer.approved, by: answer.by };
    }
  }

  /** The reviewer's verdict, recorded; without a reviewer model, "concerns" that hands the action to a person. */
  private async review(actionId: string, view: ActionView, assessment: Assessment): Promise<Review> {
    if (!this.o.reviewer) return { verdict: 'concerns', reasons: ['no reviewer model is configured'], model: NO_REVIEWER };
    let r: Review;
    try {
      this.reviewer ??= await this.deps.models.acquire(this.o.reviewer);
      r = await askReviewer(this.reviewer.provider, { task: this.o.task, action: view, level: assessment.level, findings: assessment.findings },
        { seed: this.o.seed, signal: this.o.signal });
    } catch (e) {
      if (this.o.signal?.aborted) throw e;
      // A reviewer that cannot answer has concerns: a person decides.
      r = { verdict: 'concerns', reasons: [`the reviewer failed: ${(e as Error).message}`], model: this.o.reviewer };
    }
    this.deps.store.addReview(actionId, r.model, r.verdict, r.reasons);
    this.emit({ type: 'review', actionId, model: r.model, verdict: r.verdict, reasons: r.reasons });
    return r;
  }

  private async execute(a: Exclude<ToolArgs, { tool: 'finish' }>, p: { view: ActionView; abs?: string; code?: string },
    context: Parameters<typeof commitMessage>[0]): Promise<StepOutcome> {
    switch (a.tool) {
      case 'read_file': {
        const text = readWorkspaceFile(p.abs!);
        return text === null ? { status: 'failed', output: `${a.path} does not exist` } : { status: 'ran', output: text };
      }
      case 'list_files':
        return { status: 'ran', output: listWorkspace(this.repo.dir, p.abs!).join('\n') || '(empty)' };
      case 'search_knowledge': {
        const search = this.o.knowledge ?? this.deps.knowledge;
        if (!search) return { status: 'failed', output: 'no knowledge base is configured for this task' };
        const hits = await search(a.query, 5, this.o.signal);
        return { status: 'ran', output: hits.map((h) => `[${h.filename}] ${cut(h.text, 400)}`).join('\n\n') || '(no passages)' };
      }
      case 'write_file': {
        writeWorkspaceFile(this.repo.dir, p.abs!, a.content);
        const commit = await commitAll(this.repo, commitMessage(context), [p.view.path!]);
        if (commit) this.commits.push(commit);
        return { status: 'ran', output: `wrote ${p.view.path} (${Buffer.byteLength(a.content)} bytes)${commit ? `; commit ${commit.slice(0, 12)}` : '; unchanged'}`, ...(commit ? { commit } : {}) };
      }
      case 'run_code': {
        let sandbox: Sandbox;
        try {
          sandbox = await this.deps.sandbox();
        } catch (e) {
          return { status: 'failed', output: `not run: no working sandbox here, and code never runs outside one (${(e as Error).message})` };
        }
        const { value: r, removedFakeGit } = await withGitAside(this.repo, () => sandbox.run({
          language: a.language, code: p.code!, workspace: this.repo.dir, ...(this.o.limits ? { limits: this.o.limits } : {}), ...(this.o.signal ? { signal: this.o.signal } : {}),
        }));
        const output = runOutput(r) + (removedFakeGit ? '\n(the program made a .git of its own in the workspace; it was removed)' : '');
        const commit = await commitAll(this.repo, commitMessage({ ...context, subject: `${context.subject}: ${r.exitCode !== null ? `exit ${r.exitCode}` : r.signal}` }));
        if (commit) this.commits.push(commit);
        return { status: r.exitCode === 0 ? 'ran' : 'failed', output, ...(commit ? { commit } : {}) };
      }
    }
  }
}

const NO_REVIEWER = '(none)';

type Final = Extract<Decision, { action: 'run' | 'deny' }>;

function runOutput(r: SandboxResult): string {
  const end = r.exitCode !== null ? `exit ${r.exitCode}` : `killed by ${r.signal}`;
  const limits = r.limits.length ? r.limits.map((h) => `${h.limit} (${h.detail})`).join('; ') : 'none';
  return [`${end} after ${Math.round(r.durationMs)} ms; limits hit: ${limits}`, r.stdout && `stdout:\n${cut(r.stdout, 4000)}`, r.stderr && `stderr:\n${cut(r.stderr, 2000)}`]
    .filter(Boolean).join('\n');
}

/** `LEVEL` and the findings that set it, for Hearth-Risk. */
export function riskTrailer(a: Assessment): string {
  if (!a.findings.length) return `${a.level} (no findings)`;
  return `${a.level}; ` + a.findings.map((f) => `${f.rule} ${f.level} line ${f.line}: ${f.reason}`).join('; ');
}

function reviewTrailer(r: Review | undefined, level: RiskLevel, reviewer: string | undefined): string {
  if (!r) return `not asked (${level} runs without review)`;
  if (r.model === NO_REVIEWER) return reviewer ? 'none' : 'none (no reviewer model configured)';
  return `${r.verdict} by ${r.model}: ${r.reasons.join('; ')}`;
}
