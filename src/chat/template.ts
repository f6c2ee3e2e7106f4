// Chat-template rendering: the Jinja templates shipped with models (GGUF `tokenizer.chat_template`, HF
// `tokenizer_config.json`), run with @huggingface/jinja in the environment Hugging Face transformers
// gives them (messages, add_generation_prompt, bos/eos tokens, raise_exception, strftime_now).
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { HearthError } from '../util/errors.ts';
import { strftime } from './strftime.ts';
import {
  argumentsValue, detectToolFamily, genericToolMessages, hfTools, templateToolShape, toolListNote, toolSpelling, withSystemNote,
  type TemplateToolShape, type ToolSpec,
} from './tools.ts';

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ChatToolCall {
  id?: string;
  type?: 'function';
  function: { name: string; arguments: string | Record<string, unknown> };
}
import type { ImageInput } from './media.ts';

export interface ChatMessage {
  role: ChatRole | (string & {});
  content: string;
  /** Optional speaker name (OpenAI `name`). */
  name?: string;
  /** Calls an assistant message makes; shown to templates as `tool_calls`. */
  toolCalls?: ChatToolCall[];
  /** For role 'tool': the call this answers; shown to templates as `tool_call_id`. */
  toolCallId?: string;
  /** An assistant's reasoning kept apart from content; shown to templates as `reasoning_content`. */
  reasoningContent?: string;
  /** Images of the message, in order; `content` holds IMAGE_MARKER (chat/media.ts) where each one goes. */
  images?: ImageInput[];
}

export interface RenderOptions {
  /** End with the header that opens the assistant's turn. */
  addGenerationPrompt: boolean;
  bosToken?: string;
  eosToken?: string;
  /** More template variables, e.g. { tools: [...] } or { enable_thinking: false }. */
  extra?: Record<string, unknown>;
  /** Clock for strftime_now (default: the current time). */
  now?: () => Date;
  /**
   * Tools the model may call. A template with tool syntax gets them as `tools` in HF's shape; one without
   * gets a system note teaching the generic JSON convention (see genericToolMessages). Empty or absent:
   * the render is what it was without tools.
   */
  tools?: ToolSpec[];
}

/** What raise_exception() throws inside a template, told apart from the template engine's own errors. */
class TemplateRaise extends Error {}

const CACHE_LIMIT = 32;
const cache = new Map<string, Template>(); // insertion order doubles as LRU order

function parsed(source: string): Template {
  const hit = cache.get(source);
  if (hit) {
    cache.delete(source);
    cache.set(source, hit);
    return hit;
  }
  let t: Template;
  try {
    t = new Template(source);
  } catch (e) {
    throw new HearthError('template_error', `chat template does not parse: ${errorText(e)}`, { cause: e });
  }
  cache.set(source, t);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  return t;
}

/** The message as templates expect it (snake_case field names, absent fields left undefined). */
function templateMessage(m: ChatMessage, shape: TemplateToolShape): Record<string, unknown> {
  const calls = m.toolCalls !== undefined && m.toolCalls.length > 0;
  const out: Record<string, unknown> = {
    role: m.role, content: calls && m.content === '' && shape.nullContentForCalls ? null : m.content,
  };
  if (m.name !== undefined) out.name = m.name;
  if (m.toolCalls !== undefined) {
    out.tool_calls = m.toolCalls.map((c) => ({
      ...(c.id !== undefined ? { id: c.id } : {}),
      type: c.type ?? 'function',
      function: { name: c.function.name, arguments: argumentsValue(c.function.arguments, shape.arguments) },
    }));
  }
  if (m.toolCallId !== undefined) out.tool_call_id = m.toolCallId;
  if (m.reasoningContent !== undefined) out.reasoning_content = m.reasoningContent;
  return out;
}

/**
 * Renders a conversation through a chat template. Throws HearthError('template_error') when the
 * template does not parse, calls raise_exception(), or fails while rendering.
 */
export function renderChatTemplate(template: string, messages: ChatMessage[], opts: RenderOptions): string {
  const t = parsed(template);
  const now = opts.now ?? (() => new Date());
  const vars: Record<string, unknown> = { ...opts.extra };
  if (opts.tools && opts.tools.length > 0) {
    const family = detectToolFamily(template);
    if (family === 'generic') messages = genericToolMessages(messages, opts.tools);
    else {
      vars.tools = hfTools(opts.tools);
      if (!/\btools\b/.test(template)) {
        messages = withSystemNote(messages, toolListNote(family, opts.tools, toolSpelling(template)));
      }
    }
  }
  const shape = templateToolShape(template);
  Object.assign(vars, {
    messages: messages.map((m) => templateMessage(m, shape)),
    add_generation_prompt: opts.addGenerationPrompt,
    bos_token: opts.bosToken ?? '',
    eos_token: opts.eosToken ?? '',
  });
  try {
    return new Interpreter(environment(vars, now)).run(t.parsed).value as string;
  } catch (e) {
    if (e instanceof TemplateRaise) {
      throw new HearthError('template_error', `chat template raised an exception: ${e.message}`, { cause: e });
    }
    throw new HearthError('template_error', `chat template failed to render: ${errorText(e)}`, { cause: e });
  }
}

/**
 * The globals Template.render() would set up, with our raise_exception (so a template's own exception
 * is reported as such) and strftime_now (English names, injectable clock). Template.render() cannot be
 * used: it refuses to redefine its globals.
 */
function environment(vars: Record<string, unknown>, now: () => Date): Environment {
  const env = new Environment();
  const globals: Record<string, unknown> = {
    false: false, true: true, none: null, False: false, True: true, None: null,
    range,
    raise_exception: (message?: unknown) => {
      throw new TemplateRaise(String(message ?? 'raise_exception() called'));
    },
    strftime_now: (format: unknown) => strftime(now(), String(format)),
  };
  for (const [k, v] of Object.entries({ ...globals, ...vars })) env.set(k, v);
  return env;
}

/** Python's range(stop) / range(start, stop[, step]). */
function range(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error('range() step must not be zero');
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
