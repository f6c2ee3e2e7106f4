// Tool definitions and choices on the wire, read into chat/tools.ts's ToolSpec and ToolChoice. OpenAI and
// Ollama share the `{type: "function", function: {name, description, parameters}}` shape.

import type { ToolChoice, ToolSpec } from '../chat/tools.ts';
import type { McpRequestUse } from './native.ts';
import { FieldError, type Fields } from './validate.ts';

const EMPTY_PARAMETERS = { type: 'object', properties: {} };

function readParameters(f: Fields, key: string): Record<string, unknown> {
  const p = f.object(key);
  return p ? p.obj : EMPTY_PARAMETERS;
}

/** `tools` as OpenAI and Ollama send them; undefined when absent or empty. */
export function readFunctionTools(f: Fields, key = 'tools'): ToolSpec[] | undefined {
  const list = f.array(key);
  if (!list?.length) return undefined;
  const tools = f.children(list, key).map((t): ToolSpec => {
    const type = t.string('type') ?? 'function';
    if (type !== 'function') throw new FieldError(t.name('type'), `${t.name('type')} must be "function"; got ${JSON.stringify(type)}`);
    const fn = t.required('function', (x, k) => x.object(k));
    const name = fn.required('name', (x, k) => x.string(k, { nonEmpty: true }));
    const description = fn.string('description');
    const parameters = readParameters(fn, 'parameters');
    fn.boolean('strict');
    fn.rejectUnknown();
    t.rejectUnknown();
    return description !== undefined ? { name, description, parameters } : { name, parameters };
  });
  checkUnique(tools, key);
  return tools;
}

/** Anthropic's `tools`: `{name, description, input_schema}`. */
export function readAnthropicTools(f: Fields): ToolSpec[] | undefined {
  const list = f.array('tools');
  if (!list?.length) return undefined;
  const tools = f.children(list, 'tools').map((t): ToolSpec => {
    const type = t.string('type');
    if (type !== undefined && type !== 'custom') {
      throw new FieldError(t.name('type'), `${t.name('type')} ${JSON.stringify(type)}: only custom tools (name, description, input_schema) are implemented`);
    }
    const name = t.required('name', (x, k) => x.string(k, { nonEmpty: true }));
    const description = t.string('description');
    const parameters = t.required('input_schema', (x, k) => x.object(k)).obj;
    t.object('cache_control');
    t.raw('strict');
    t.rejectUnknown();
    return description !== undefined ? { name, description, parameters } : { name, parameters };
  });
  checkUnique(tools, 'tools');
  return tools;
}

function checkUnique(tools: ToolSpec[], key: string): void {
  const seen = new Set<string>();
  tools.forEach((t, i) => {
    if (seen.has(t.name)) throw new FieldError(`${key}[${i}]`, `${key}[${i}] repeats the tool name ${JSON.stringify(t.name)}`);
    seen.add(t.name);
  });
}

/**
 * Hearth's `hearth_mcp` field (chat completions, Ollama's /api/chat, Anthropic's /v1/messages): the configured MCP
 * servers whose tools the model may use, each a label or `{server_label, allowed_tools}`. Only labels: a field that
 * tries to say where a server is or how to start it (`server_url`, `command`, `headers`…) is refused.
 */
export function readHearthMcp(f: Fields): McpRequestUse[] | undefined {
  const list = f.array('hearth_mcp');
  if (list === undefined) return undefined;
  if (!list.length) throw new FieldError('hearth_mcp', 'hearth_mcp must list at least one MCP server label');
  const seen = new Set<string>();
  return list.map((item, i) => {
    const at = `hearth_mcp[${i}]`;
    let use: McpRequestUse;
    if (typeof item === 'string') use = { label: item };
    else {
      const c = f.child(item, at);
      const label = c.required('server_label', (x, k) => x.string(k, { nonEmpty: true }));
      const allowed = c.array('allowed_tools');
      if (allowed && !allowed.every((t) => typeof t === 'string')) throw new FieldError(`${at}.allowed_tools`, 'allowed_tools must be a list of tool names');
      for (const k of ['server_url', 'url', 'command', 'args', 'env', 'headers', 'authorization']) {
        if (c.has(k)) throw new FieldError(`${at}.${k}`, `${at}.${k}: MCP servers are declared in the server's config file only; a request names one by its label`);
      }
      c.rejectUnknown();
      use = { label, ...(allowed ? { allowedTools: allowed as string[] } : {}) };
    }
    if (!use.label) throw new FieldError(at, `${at} must be an MCP server label`);
    if (seen.has(use.label)) throw new FieldError(at, `${at} repeats the MCP server "${use.label}"`);
    seen.add(use.label);
    return use;
  });
}

/** OpenAI's tool_choice: "none" | "auto" | "required" | {type: "function", function: {name}}. */
export function readOpenAIToolChoice(f: Fields): ToolChoice | undefined {
  const v = f.raw('tool_choice');
  if (v === undefined) return undefined;
  if (v === 'none' || v === 'auto' || v === 'required') return v;
  if (typeof v === 'string') throw new FieldError('tool_choice', `tool_choice must be "none", "auto", "required" or {"type": "function", "function": {"name": …}}; got ${JSON.stringify(v)}`);
  const c = f.child(v, 'tool_choice');
  c.required('type', (x, k) => x.oneOf(k, ['function']));
  const fn = c.required('function', (x, k) => x.object(k));
  const name = fn.required('name', (x, k) => x.string(k, { nonEmpty: true }));
  fn.rejectUnknown();
  c.rejectUnknown();
  return { name };
}

/** Anthropic's tool_choice: {type: "auto" | "any" | "tool" (with name) | "none"}, and disable_parallel_tool_use. */
export function readAnthropicToolChoice(f: Fields): { choice: ToolChoice; single: boolean } | undefined {
  const c = f.object('tool_choice');
  if (!c) return undefined;
  const type = c.required('type', (x, k) => x.oneOf(k, ['auto', 'any', 'tool', 'none']));
  const single = c.boolean('disable_parallel_tool_use') ?? false;
  const choice: ToolChoice = type === 'tool' ? { name: c.required('name', (x, k) => x.string(k, { nonEmpty: true })) }
    : type === 'any' ? 'required' : type === 'none' ? 'none' : 'auto';
  c.rejectUnknown();
  return { choice, single };
}

/** Arguments JSON text as an object (Anthropic's input, Ollama's arguments); a non-object comes back empty. */
export function argumentsObject(args: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(args);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {};
  } catch {
    return {};
  }
}
