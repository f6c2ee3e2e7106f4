// The assistant's interface: what a task is given, the events it reports step by step, and what it ends with.

import type { Finding, RiskLevel } from '../assess/types.ts';
import type { ReviewVerdict } from '../assess/policy.ts';

export type ToolName = 'read_file' | 'write_file' | 'list_files' | 'run_code' | 'search_knowledge' | 'finish';
export const TOOL_NAMES: readonly ToolName[] = ['read_file', 'write_file', 'list_files', 'run_code', 'search_knowledge', 'finish'];

/** The reviewer model's answer, in its fixed shape. */
export interface Review {
  readonly verdict: ReviewVerdict;
  readonly reasons: readonly string[];
  readonly model: string;
}

/** What a person (or the reviewer) is shown about an action before it runs. */
export interface ActionView {
  readonly tool: ToolName;
  /** One line: what the action does. */
  readonly summary: string;
  readonly path?: string;
  readonly language?: string;
  /** The program that runs, for run_code (and a code file written). */
  readonly code?: string;
  /** A unified diff of the workspace change, for write_file. */
  readonly diff?: string;
}

/** One step of a task as it happens (the SSE events of POST /api/v1/agent/tasks, the lines of hearth agent). */
export type AgentEvent =
  | { type: 'task'; taskId: string; workspace: string; model: string; reviewer?: string }
  | { type: 'plan'; text: string }
  | { type: 'tool_call'; actionId: string; step: number; tool: string; arguments: unknown }
  | { type: 'assessment'; actionId: string; level: RiskLevel; findings: readonly Finding[]; language?: string }
  | { type: 'review'; actionId: string; model: string; verdict: ReviewVerdict; reasons: readonly string[] }
  | { type: 'approval_wait'; actionId: string; approvalId: string; expiresAt: string }
  | { type: 'decision'; actionId: string; action: 'run' | 'deny'; by: string; reason: string }
  | { type: 'tool_result'; actionId: string; status: 'ran' | 'denied' | 'failed'; output: string; commit?: string }
  | { type: 'result'; taskId: string; status: 'done' | 'failed' | 'cancelled'; summary: string; commits: readonly string[]; error?: string };

/** A task's steps given in advance (hearth agent --script): each turn's call is forced to this tool and these arguments. */
export interface ScriptStep {
  readonly tool: ToolName;
  readonly arguments: Record<string, unknown>;
}

/** Searches the knowledge base the task was given (search_knowledge), best first. */
export type KnowledgeSearch = (query: string, max: number, signal?: AbortSignal) => Promise<{ filename: string; text: string; score: number }[]>;
