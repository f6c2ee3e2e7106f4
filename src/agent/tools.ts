// The assistant's tools: their specs (the JSON schemas the tool-call grammar holds the model's arguments to), the
// reading of a call's arguments, where a path lies, and the workspace file operations. Every path is relative to
// the workspace; one that leaves it (.., an absolute path, a symbolic link on the way) or enters .git is refused.

import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { HearthError } from '../util/errors.ts';
import type { ToolSpec } from '../chat/tools.ts';
import type { Finding } from '../assess/types.ts';
import type { SandboxLanguage } from '../sandbox/types.ts';
import { SANDBOX_LANGUAGES } from '../sandbox/types.ts';
import { TOOL_NAMES, type ScriptStep, type ToolName } from './types.ts';

/** Largest file read_file returns and write_file takes, in bytes. */
export const MAX_FILE_BYTES = 1 << 20;
/** Entries list_files returns at most. */
export const MAX_LIST = 500;

const str = { type: 'string' } as const;

export const TOOL_SPECS: Readonly<Record<ToolName, ToolSpec>> = {
  read_file: {
    name: 'read_file', description: 'Read a text file of the workspace.',
    parameters: { type: 'object', properties: { path: str }, required: ['path'], additionalProperties: false },
  },
  write_file: {
    name: 'write_file', description: 'Write a text file of the workspace (created or replaced); the change is committed.',
    parameters: { type: 'object', properties: { path: str, content: str }, required: ['path', 'content'], additionalProperties: false },
  },
  list_files: {
    name: 'list_files', description: 'List the files under a folder of the workspace ("." for all).',
    parameters: { type: 'object', properties: { path: str }, required: ['path'], additionalProperties: false },
  },
  run_code: {
    name: 'run_code', description: 'Run a program in the sandbox (no network, the workspace its only writable folder): a workspace file (path) or code.',
    parameters: {
      type: 'object', properties: { language: { enum: [...SANDBOX_LANGUAGES] }, path: str, code: str },
      required: ['language'], additionalProperties: false,
    },
  },
  search_knowledge: {
    name: 'search_knowledge', description: 'Search the knowledge base for passages about a query.',
    parameters: { type: 'object', properties: { query: str }, required: ['query'], additionalProperties: false },
  },
  finish: {
    name: 'finish', description: 'End the task with a summary of what was done and why.',
    parameters: { type: 'object', properties: { summary: str }, required: ['summary'], additionalProperties: false },
  },
};

/**
 * The spec of a scripted step: the tool with each argument fixed (`const`), so that the tool-call grammar lets the
 * model write exactly that call and nothing else.
 */
export function scriptedSpec(step: ScriptStep): ToolSpec {
  const base = TOOL_SPECS[step.tool];
  const properties = Object.fromEntries(Object.entries(step.arguments).map(([k, v]) => [k, { const: v }]));
  return { ...base, parameters: { type: 'object', properties, required: Object.keys(properties), additionalProperties: false } };
}

/** A script's steps, checked: known tools, arguments that the tool's schema takes. */
export function parseScript(value: unknown, where = 'script'): ScriptStep[] {
  const steps = Array.isArray(value) ? value : (value as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps) || steps.length === 0) throw new HearthError('invalid_argument', `${where}: a non-empty list of steps {tool, arguments}`);
  return steps.map((s: unknown, i) => {
    const step = s as { tool?: unknown; arguments?: unknown };
    if (typeof step?.tool !== 'string' || !TOOL_NAMES.includes(step.tool as ToolName)) {
      throw new HearthError('invalid_argument', `${where}: step ${i + 1} names tool ${JSON.stringify(step?.tool)}; tools: ${TOOL_NAMES.join(', ')}`);
    }
    const args = step.arguments ?? {};
    readArguments(step.tool as ToolName, args, `${where}: step ${i + 1}`);
    return { tool: step.tool as ToolName, arguments: args as Record<string, unknown> };
  });
}

export type ToolArgs =
  | { tool: 'read_file' | 'list_files'; path: string }
  | { tool: 'write_file'; path: string; content: string }
  | { tool: 'run_code'; language: SandboxLanguage; path?: string; code?: string }
  | { tool: 'search_knowledge'; query: string }
  | { tool: 'finish'; summary: string };

/** A call's arguments read against its tool: an `invalid_argument` the model is told when they do not fit. */
export function readArguments(tool: ToolName, args: unknown, where: string = tool): ToolArgs {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new HearthError('invalid_argument', `${where}: the arguments must be an object`);
  const a = args as Record<string, unknown>;
  const spec = TOOL_SPECS[tool].parameters as { properties: Record<string, unknown>; required: string[] };
  for (const k of Object.keys(a)) if (!(k in spec.properties)) throw new HearthError('invalid_argument', `${where}: unknown argument ${k}`);
  for (const k of spec.required) if (a[k] === undefined) throw new HearthError('invalid_argument', `${where}: ${k} is required`);
  for (const [k, v] of Object.entries(a)) {
    if (typeof v !== 'string') throw new HearthError('invalid_argument', `${where}: ${k} must be a string`);
  }
  const s = a as Record<string, string>;
  switch (tool) {
    case 'read_file': case 'list_files': return { tool, path: s.path! };
    case 'write_file': return { tool, path: s.path!, content: s.content! };
    case 'run_code': {
      if (!SANDBOX_LANGUAGES.includes(s.language as SandboxLanguage)) throw new HearthError('invalid_argument', `${where}: language must be one of ${SANDBOX_LANGUAGES.join(', ')}`);
      if ((s.path === undefined) === (s.code === undefined)) throw new HearthError('invalid_argument', `${where}: give either path (a workspace file) or code`);
      return { tool, language: s.language as SandboxLanguage, ...(s.path !== undefined ? { path: s.path } : {}), ...(s.code !== undefined ? { code: s.code } : {}) };
    }
    case 'search_knowledge': return { tool, query: s.query! };
    case 'finish': return { tool, summary: s.summary! };
  }
}

/** A path of the workspace: its normalised relative form, or the finding that refuses it. */
export type Placed = { ok: true; rel: string; abs: string } | { ok: false; finding: Finding };

const refused = (rule: string, reason: string, path: string): Placed => ({
  ok: false, finding: { rule, kind: 'file_write', level: 'BLOCKED', reason, line: 1, column: 1, snippet: path.slice(0, 120) },
});

/**
 * Where `path` lies in `workspace` (a real path). Refused (BLOCKED): absolute paths, `..` out of it, a symbolic link
 * on the way (it could lead anywhere), anything in .git (hooks and config run on the host).
 */
export function place(workspace: string, path: string): Placed {
  if (path.includes('\0')) return refused('agent.path-nul', 'the path holds a NUL byte', path);
  if (path.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(path)) return refused('agent.path-absolute', 'an absolute path: tools take paths inside the workspace', path);
  const rel = normalize(path === '' ? '.' : path).replace(/[\\/]+$/, '') || '.';
  if (rel === '..' || rel.startsWith('..' + sep)) return refused('agent.path-outside', `${path} is outside the workspace`, path);
  const parts = rel === '.' ? [] : rel.split(sep);
  if (parts.some((p) => p.toLowerCase() === '.git')) return refused('agent.git-dir', 'the repository\'s .git folder is not the agent\'s to touch', path);
  let at = workspace;
  for (const p of parts) {
    at = join(at, p);
    try {
      if (lstatSync(at).isSymbolicLink()) return refused('agent.path-symlink', `${path} passes through a symbolic link`, path);
    } catch {
      break; // the rest does not exist yet
    }
  }
  return { ok: true, rel, abs: rel === '.' ? workspace : join(workspace, rel) };
}

/** The sandbox language of a file by its extension, where it is a program. */
export function languageOf(path: string): SandboxLanguage | undefined {
  if (/\.py$/i.test(path)) return 'python';
  if (/\.(m?js|cjs)$/i.test(path)) return 'node';
  if (/\.(sh|bash)$/i.test(path)) return 'bash';
  return undefined;
}

/** A workspace file's text (null when it does not exist); `invalid_argument` for a folder or one too large. */
export function readWorkspaceFile(abs: string): string | null {
  let st;
  try {
    st = lstatSync(abs);
  } catch {
    return null;
  }
  if (!st.isFile()) throw new HearthError('invalid_argument', 'not a regular file');
  if (st.size > MAX_FILE_BYTES) throw new HearthError('invalid_argument', `the file is ${st.size} bytes, over ${MAX_FILE_BYTES}`);
  return readFileSync(abs, 'utf8');
}

export function writeWorkspaceFile(workspace: string, abs: string, content: string): void {
  if (Buffer.byteLength(content) > MAX_FILE_BYTES) throw new HearthError('invalid_argument', `the content is over ${MAX_FILE_BYTES} bytes`);
  const dir = dirname(abs);
  if (dir !== workspace) mkdirSync(dir, { recursive: true });
  writeFileSync(abs, content);
}

/** Files under a workspace folder (relative to the workspace, folders with a trailing /), .git left out. */
export function listWorkspace(workspace: string, abs: string): string[] {
  const out: string[] = [];
  const stack = [abs];
  while (stack.length && out.length < MAX_LIST) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name === '.git') continue;
      const p = join(d, e.name);
      const rel = p.slice(workspace.length + 1);
      if (e.isDirectory()) {
        out.push(rel + '/');
        stack.push(p);
      } else out.push(rel);
      if (out.length >= MAX_LIST) break;
    }
  }
  return out;
}
