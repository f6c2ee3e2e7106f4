// Reading tool calls and reasoning out of generated text, per tool family (see tools.ts). One streaming
// parser does the work; the one-shot parse is that parser fed everything at once, so a stream's events
// always add up to the finished output's parse.
//
// The text is content with blocks in it: `<think>…</think>` reasoning and the family's call blocks. Text
// that might be the start of a marker (`<tool_` at the end of a delta) is held back until the next delta
// settles it, as llama.cpp's partial parsing does; a call is reported only once its block is complete and
// its JSON parses, so a client never sees a call that later turns out not to be one. Whitespace at the
// edges of each piece of content or reasoning (around markers, at the start and end) is dropped.
import { DEEPSEEK_MARKERS, type ToolFamily } from './tools.ts';
import { compactJson, member, readJson, type JsonNode } from './partial-json.ts';

/** A call read from the output; `arguments` is JSON text. `id` only where the model wrote one (Mistral). */
export interface ParsedToolCall {
  name: string;
  arguments: string;
  id?: string;
}

export interface ParsedOutput {
  content: string;
  toolCalls: ParsedToolCall[];
  reasoning?: string;
}

export type ToolStreamEvent =
  | { type: 'content'; text: string }
  | { type: 'reasoning'; text: string }
  | { type: 'tool_call_start'; index: number; name: string; id?: string }
  | { type: 'tool_call_args'; index: number; text: string }
  | { type: 'tool_call_end'; index: number };

export interface ToolParserOptions {
  /**
   * The prompt already opened a reasoning block (DeepSeek-R1's generation prompt ends with `<think>\n`), so
   * the output starts inside it. promptOpensReasoning() tells from the rendered prompt.
   */
  startInReasoning?: boolean;
  /**
   * Report each call's name and argument text as they are written, not once the block is complete. Only for
   * output a grammar holds to the call syntax (a forced call, or a lazy grammar once its trigger fired): there
   * a started call is a call, unless the output is cut short.
   */
  streamCalls?: boolean;
  /** false: read only reasoning apart; the output has no calls (a prompt without tools). Default true. */
  calls?: boolean;
}

/** Whether a chat template writes `<think>` reasoning blocks, so replies can have one to read apart. */
export function templateReasons(template: string | undefined): boolean {
  return template?.includes(THINK_OPEN) ?? false;
}

/** Whether a rendered prompt ends inside an open `<think>` block. */
export function promptOpensReasoning(rendered: string): boolean {
  const open = rendered.lastIndexOf(THINK_OPEN);
  return open >= 0 && rendered.indexOf(THINK_CLOSE, open) < 0;
}

const THINK_OPEN = '<think>';
const THINK_CLOSE = '</think>';

/** A block of call syntax: its opening marker, how it ends, and how its body reads as calls. */
interface BlockRule {
  open: string;
  /** The closing marker; without one the body is a single JSON value, ended where it balances. */
  close?: string;
  /**
   * Where a body without a closing marker ends (index after it; -1: not known yet; -2: this is no call);
   * default: one JSON object or array.
   */
  end?(s: string): number;
  /** The calls in the body, or null when it is not what the family writes (then it stays content). */
  parse(body: string): ParsedToolCall[] | null;
  /** The calls in a body still being written (for streamCalls). */
  partial?(body: string): PartialToolCall[];
}

interface FamilyRules {
  blocks: BlockRule[];
  /** Markers that carry nothing and are dropped (DeepSeek's outer begin/end around its calls). */
  drop: string[];
  /**
   * Rule for a JSON value that opens the output (Llama 3.x may call without `<|python_tag|>`; the generic
   * convention is a JSON reply); a value that does not parse as calls stays content.
   */
  leadingJson?: (body: string) => ParsedToolCall[] | null;
  leadingPartial?: (body: string) => PartialToolCall[];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A whole JSON text (as strict as JSON.parse) with the places of its values; undefined when it is not JSON. */
function readWhole(text: string): JsonNode | undefined {
  return parseJson(text) === undefined ? undefined : readJson(text);
}

/**
 * Arguments as JSON text: an object as the model wrote it, compact (so a streamed call's pieces add up to
 * it); a string that holds a JSON object (some models quote their arguments) is taken as that object;
 * anything else does not make a call.
 */
function argumentsText(n: JsonNode, text: string): string | null {
  if (n.kind === 'object') return compactJson(text.slice(n.start, n.end));
  if (n.kind === 'string') return isObject(parseJson(n.value)) ? compactJson(n.value) : null;
  return null;
}

/** `{"name": …, "<argsKey>": {…}}` (and `id` where present) as a call. */
function callFromObject(n: JsonNode | undefined, text: string, argsKeys: string[]): ParsedToolCall | null {
  const name = member(n, 'name');
  if (name?.kind !== 'string' || name.value === '') return null;
  const key = argsKeys.find((k) => member(n, k) !== undefined);
  const args = key === undefined ? '{}' : argumentsText(member(n, key)!, text);
  if (args === null) return null;
  const id = member(n, 'id');
  return { name: name.value, arguments: args, ...(id?.kind === 'string' ? { id: id.value } : {}) };
}

function callsFromArray(n: JsonNode | undefined, text: string, argsKeys: string[]): ParsedToolCall[] | null {
  if (n?.kind !== 'array' || n.items.length === 0) return null;
  const calls = n.items.map((c) => callFromObject(c, text, argsKeys));
  return calls.every((c) => c !== null) ? calls as ParsedToolCall[] : null;
}

/** A call as far as it is written: its name once complete, and its argument object's text so far. */
export interface PartialToolCall {
  name?: string;
  id?: string;
  arguments?: string;
}

/** The calls in a JSON value still being written: an object, or a list of them. */
function partialCalls(n: JsonNode | undefined, text: string, argsKeys: string[]): PartialToolCall[] {
  if (n?.kind === 'array') return n.items.flatMap((c) => partialCalls(c, text, argsKeys));
  if (n?.kind !== 'object') return [];
  const name = member(n, 'name');
  const key = argsKeys.find((k) => member(n, k) !== undefined);
  const args = key === undefined ? undefined : member(n, key);
  const id = member(n, 'id');
  return [{
    ...(name?.kind === 'string' && name.end >= 0 ? { name: name.value } : {}),
    ...(id?.kind === 'string' && id.end >= 0 ? { id: id.value } : {}),
    ...(args?.kind === 'object' ? { arguments: text.slice(args.start, args.end < 0 ? text.length : args.end) } : {}),
  }];
}

const ARGS_KEYS = ['arguments', 'parameters'];
const LLAMA_ARGS_KEYS = ['parameters', 'arguments'];

const hermes: FamilyRules = {
  blocks: [{
    open: '<tool_call>', close: '</tool_call>',
    parse: (body) => {
      const c = callFromObject(readWhole(body), body, ARGS_KEYS);
      return c && [c];
    },
    partial: (body) => partialCalls(readJson(body), body, ARGS_KEYS).slice(0, 1),
  }],
  drop: [],
};

/** Llama 3.x's call object; a list of them is read too (Llama 3.2 sometimes writes one). */
function llamaCalls(body: string): ParsedToolCall[] | null {
  const n = readWhole(body);
  if (n?.kind === 'array') return callsFromArray(n, body, LLAMA_ARGS_KEYS);
  const c = callFromObject(n, body, LLAMA_ARGS_KEYS);
  return c && [c];
}

const llamaPartial = (body: string) => partialCalls(readJson(body), body, LLAMA_ARGS_KEYS);

/** A Python string, number, boolean or None literal at the start of `s`: its JSON value and length. */
function pythonLiteral(s: string): [value: unknown, length: number] | undefined {
  const str = /^(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')/.exec(s);
  if (str) {
    const raw = str[1] ?? str[2]!;
    const value = raw.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' } as Record<string, string>)[c] ?? c);
    return [value, str[0].length];
  }
  const num = /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(s);
  if (num) return [Number(num[0]), num[0].length];
  for (const [word, value] of [['True', true], ['False', false], ['None', null]] as const) {
    if (s.startsWith(word)) return [value, word.length];
  }
  return undefined;
}

/**
 * Llama 3.1's built-in tool call: `name.call(key=value, …)` after `<|python_tag|>` (brave_search,
 * wolfram_alpha, …), with Python literals as values. The index after it, -1 when the text stops inside it,
 * -2 when it is not one; and the call.
 */
function builtinCall(s: string): { end: number; call?: ParsedToolCall } {
  const head = /^\s*([A-Za-z_][A-Za-z0-9_]*)\.call\(\s*/.exec(s);
  if (!head) return { end: /^\s*[A-Za-z0-9_.]*$/.test(s) ? -1 : -2 };
  const args: Record<string, unknown> = {};
  let i = head[0].length;
  for (;;) {
    const rest = s.slice(i);
    if (rest.startsWith(')')) return { end: i + 1, call: { name: head[1]!, arguments: JSON.stringify(args) } };
    const key = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*/.exec(rest);
    if (!key) return { end: /^[A-Za-z0-9_\s]*$/.test(rest) ? -1 : -2 };
    const lit = pythonLiteral(rest.slice(key[0].length));
    if (!lit) return { end: -1 };
    args[key[1]!] = lit[0];
    i += key[0].length + lit[1];
    const sep = /^\s*(,\s*)?/.exec(s.slice(i))![0];
    i += sep.length;
    if (i >= s.length) return { end: -1 };
  }
}

const llama3: FamilyRules = {
  blocks: [{
    open: '<|python_tag|>',
    end: (s) => /^\s*[{[]/.test(s) || /^\s*$/.test(s) ? jsonValueEnd(s, 0) : builtinCall(s).end,
    parse: (body) => {
      if (/^[{[]/.test(body)) return llamaCalls(body);
      const b = builtinCall(body);
      return b.call && b.end === body.length ? [b.call] : null;
    },
    partial: llamaPartial,
  }],
  drop: [],
  leadingJson: llamaCalls,
  leadingPartial: llamaPartial,
};

/** Mistral Small 3.2 / Devstral write `[TOOL_CALLS]name[ARGS]{…}` per call; Nemo, one JSON list. */
const MISTRAL_ARGS = '[ARGS]';
const MISTRAL_CALL_ID = '[CALL_ID]';

const mistral: FamilyRules = {
  blocks: [{
    open: '[TOOL_CALLS]',
    end: (s) => {
      const lead = /^\s*/.exec(s)![0].length;
      if (s[lead] === '[' || s[lead] === '{') return jsonValueEnd(s, lead);
      // The name, then an optional `[CALL_ID]id` (Mistral Small 3.2 writes one in its history), then `[ARGS]`.
      const m = /^\s*[A-Za-z0-9_.-]+(\[CALL_ID\][A-Za-z0-9]*)?/.exec(s);
      if (!m) return lead === s.length ? -1 : -2;
      const after = s.slice(m[0].length);
      if (after.startsWith(MISTRAL_ARGS)) return jsonValueEnd(s, m[0].length + MISTRAL_ARGS.length);
      return after === '' || MISTRAL_ARGS.startsWith(after) || (!m[1] && MISTRAL_CALL_ID.startsWith(after)) ? -1 : -2;
    },
    parse: (body) => {
      const at = body.indexOf(MISTRAL_ARGS);
      if (!body.startsWith('[') && !body.startsWith('{') && at > 0) {
        const text = body.slice(at + MISTRAL_ARGS.length);
        const n = readWhole(text);
        const args = n === undefined ? null : argumentsText(n, text);
        const [name, id] = body.slice(0, at).trim().split(MISTRAL_CALL_ID) as [string, string | undefined];
        return args === null ? null : [{ name, arguments: args, ...(id ? { id } : {}) }];
      }
      return callsFromArray(readWhole(body), body, ARGS_KEYS);
    },
    partial: (body) => {
      const m = /^\s*([A-Za-z0-9_.-]+)(?:\[CALL_ID\]([A-Za-z0-9]*))?\[ARGS\]/.exec(body);
      // Nemo's list: its id comes after the arguments, and a call is reported with the id it will keep.
      if (!m) return partialCalls(readJson(body), body, ARGS_KEYS).filter((c) => c.id !== undefined);
      const n = readJson(body, m[0].length);
      return [{ name: m[1]!, ...(m[2] ? { id: m[2] } : {}), ...(n?.kind === 'object' ? { arguments: body.slice(n.start, n.end < 0 ? body.length : n.end) } : {}) }];
    },
  }],
  drop: [],
};

const deepseek: FamilyRules = {
  blocks: [{
    open: DEEPSEEK_MARKERS.callBegin, close: DEEPSEEK_MARKERS.callEnd,
    // `function<｜tool▁sep｜>name\n```json\n{…}\n```` (V3, R1) or `name<｜tool▁sep｜>{…}` (V3.1).
    parse: (body) => {
      const sep = body.indexOf(DEEPSEEK_MARKERS.sep);
      if (sep < 0) return null;
      const head = body.slice(0, sep).trim();
      let rest = body.slice(sep + DEEPSEEK_MARKERS.sep.length).trim();
      let name = head;
      if (head === 'function') {
        const nl = /^([^\n{`]+?)\s*(?=[{`]|$)/.exec(rest);
        if (!nl) return null;
        name = nl[1]!.trim();
        rest = rest.slice(nl[0].length);
      }
      const fenced = /^```(?:json)?\s*([\s\S]*?)\s*```$/.exec(rest);
      const text = fenced ? fenced[1]! : rest;
      const n = readWhole(text);
      const args = n === undefined ? null : argumentsText(n, text);
      return args === null || name === '' ? null : [{ name, arguments: args }];
    },
    partial: (body) => {
      // `function<｜tool▁sep｜>name\n```json\n{` (V3, R1) or `name<｜tool▁sep｜>{` (V3.1), as far as written.
      const sep = body.indexOf(DEEPSEEK_MARKERS.sep);
      if (sep < 0) return [];
      const head = body.slice(0, sep).trim();
      const after = sep + DEEPSEEK_MARKERS.sep.length;
      const m = head === 'function' ? /^([^\n{`]+?)\s*\n```(?:json)?\s*/.exec(body.slice(after)) : /^\s*/.exec(body.slice(after));
      if (!m) return [];
      const name = head === 'function' ? m[1]!.trim() : head;
      const n = readJson(body, after + m[0].length);
      return [{ name, ...(n?.kind === 'object' ? { arguments: body.slice(n.start, n.end < 0 ? body.length : n.end) } : {}) }];
    },
  }],
  drop: [DEEPSEEK_MARKERS.callsBegin, DEEPSEEK_MARKERS.callsEnd],
};

/** The generic convention: `{"tool_calls": [...]}`, also `{"tool_call": {...}}` and `{"response": "…"}`. */
const generic: FamilyRules = {
  blocks: [],
  drop: [],
  leadingJson: (body) => {
    const n = readWhole(body);
    if (n?.kind !== 'object') return null;
    const list = member(n, 'tool_calls');
    if (list) return callsFromArray(list, body, ARGS_KEYS);
    const one = member(n, 'tool_call');
    if (one) {
      const c = callFromObject(one, body, ARGS_KEYS);
      return c && [c];
    }
    return null;
  },
  leadingPartial: (body) => {
    const n = readJson(body);
    return partialCalls(member(n, 'tool_calls') ?? member(n, 'tool_call'), body, ARGS_KEYS);
  },
};

const RULES: Record<ToolFamily, FamilyRules> = { hermes, llama3, mistral, deepseek, generic };
const NO_CALLS: FamilyRules = { blocks: [], drop: [] };

/**
 * Where the JSON value starting at `from` (after whitespace) ends: the index after it, -1 when the text
 * runs out first, -2 when what starts there is not an object or array.
 */
function jsonValueEnd(s: string, from: number): number {
  let i = from;
  while (i < s.length && /\s/.test(s[i]!)) i++;
  if (i >= s.length) return -1;
  if (s[i] !== '{' && s[i] !== '[') return -2;
  let depth = 0;
  let inString = false;
  for (; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

/** Length of the longest suffix of `s` that is a proper prefix of one of `markers`. */
function partialMarkerTail(s: string, markers: string[]): number {
  let best = 0;
  for (const m of markers) {
    for (let n = Math.min(m.length - 1, s.length); n > best; n--) {
      if (s.endsWith(m.slice(0, n))) { best = n; break; }
    }
  }
  return best;
}

/** Streaming parser: push() text deltas, then finish(); each returns the events the text settled. */
export class ToolCallStreamParser {
  private readonly rules: FamilyRules;
  private buf = '';
  private mode: 'content' | 'reasoning' | 'block' | 'leading' = 'content';
  private block: BlockRule | undefined;
  /**
   * Nothing but whitespace (and reasoning) has been seen: a leading JSON value may still open the reply.
   * A reasoning block does not end the start: `<think>…</think>{"tool_calls": …}` is a call.
   */
  private atStart = true;
  /** Content has been emitted or a call made. */
  private replied = false;
  /** Whitespace held until it is known not to sit at the edge of a piece (see the file comment). */
  private pendingSpace = '';
  /** The current piece of content or reasoning has emitted text, so whitespace inside it is kept. */
  private pieceStarted = false;
  private calls = 0;
  private readonly streamCalls: boolean;
  /** The calls of the open block reported so far (streamCalls): the argument text each has been given. */
  private streamed: { sent: string }[] = [];

  readonly family: ToolFamily;

  constructor(family: ToolFamily, opts: ToolParserOptions = {}) {
    this.family = family;
    this.rules = opts.calls === false ? NO_CALLS : RULES[family];
    this.streamCalls = opts.streamCalls ?? false;
    if (opts.startInReasoning) { this.mode = 'reasoning'; this.atStart = false; }
  }

  push(delta: string): ToolStreamEvent[] {
    this.buf += delta;
    return this.drain(false);
  }

  finish(): ToolStreamEvent[] {
    return this.drain(true);
  }

  private drain(final: boolean): ToolStreamEvent[] {
    const out: ToolStreamEvent[] = [];
    for (;;) {
      const before = this.buf.length + this.mode;
      this.step(out, final);
      if (this.buf.length + this.mode === before) break;
    }
    if (final) {
      // An unfinished block at the end: a closing-marker block whose body still parses counts (the model
      // stopped on its end-of-turn token before the marker); anything else is content.
      if (this.mode === 'block' || this.mode === 'leading') this.flushBlock(out, this.buf);
      else this.text(out, this.buf, this.mode === 'reasoning' ? 'reasoning' : 'content');
      this.buf = '';
    }
    return merge(out);
  }

  /** Makes what progress the buffer allows in the current mode. */
  private step(out: ToolStreamEvent[], final: boolean): void {
    if (this.mode === 'content' && this.atStart) {
      const lead = /^\s*/.exec(this.buf)![0].length;
      if (lead === this.buf.length) return; // only whitespace so far
      this.atStart = false;
      if (this.rules.leadingJson && (this.buf[lead] === '{' || this.buf[lead] === '[')) {
        this.mode = 'leading';
        return;
      }
    }
    if (this.mode === 'content' || this.mode === 'reasoning') {
      const markers = this.mode === 'reasoning' ? [THINK_CLOSE]
        : [THINK_OPEN, ...this.rules.drop, ...this.rules.blocks.map((b) => b.open)];
      let at = -1;
      let marker = '';
      for (const m of markers) {
        const i = this.buf.indexOf(m);
        if (i >= 0 && (at < 0 || i < at)) { at = i; marker = m; }
      }
      const kind = this.mode === 'reasoning' ? 'reasoning' : 'content';
      if (at < 0) {
        if (final) return; // drain() flushes the rest
        const keep = partialMarkerTail(this.buf, markers);
        this.text(out, this.buf.slice(0, this.buf.length - keep), kind);
        this.buf = this.buf.slice(this.buf.length - keep);
        return;
      }
      this.text(out, this.buf.slice(0, at), kind);
      this.buf = this.buf.slice(at + marker.length);
      this.block = this.rules.blocks.find((b) => b.open === marker);
      // A block's edge is settled once it reads as calls or not (a malformed one continues the content).
      if (this.block) this.mode = 'block';
      else this.endPiece();
      if (marker === THINK_CLOSE) {
        this.mode = 'content';
        this.atStart = !this.replied;
      } else if (marker === THINK_OPEN) {
        this.mode = 'reasoning';
      }
      return;
    }
    // Inside a block (or a leading JSON value): wait for its end, then read it.
    const close = this.mode === 'block' ? this.block!.close : undefined;
    if (close !== undefined) {
      const end = this.buf.indexOf(close);
      if (end < 0) {
        this.streamOpenCalls(out);
        return;
      }
      const body = this.buf.slice(0, end);
      this.buf = this.buf.slice(end + close.length);
      this.flushBlock(out, body, close);
      return;
    }
    const end = this.mode === 'block' && this.block!.end ? this.block!.end(this.buf) : jsonValueEnd(this.buf, 0);
    if (end === -1) {
      this.streamOpenCalls(out);
      return;
    }
    if (end === -2) {
      // Not JSON after the marker: the marker and text are content.
      this.text(out, (this.mode === 'block' ? this.block!.open : ''), 'content');
      this.mode = 'content';
      return;
    }
    const body = this.buf.slice(0, end);
    this.buf = this.buf.slice(end);
    this.flushBlock(out, body);
  }

  /** Reports a finished block as calls, or, when it does not parse, as the content it was. */
  private flushBlock(out: ToolStreamEvent[], body: string, close = ''): void {
    const leading = this.mode === 'leading';
    const parse = leading ? this.rules.leadingJson! : this.block!.parse;
    const open = leading ? '' : this.block!.open;
    const calls = body.trim() === '' ? null : parse(body.trim());
    const streamed = this.streamed;
    this.mode = 'content';
    this.block = undefined;
    this.streamed = [];
    if (calls) {
      this.endPiece();
      this.replied = true;
      calls.forEach((c, k) => {
        const index = this.calls++;
        const sent = streamed[k]?.sent;
        if (sent === undefined) {
          out.push({ type: 'tool_call_start', index, name: c.name, ...(c.id !== undefined ? { id: c.id } : {}) });
          out.push({ type: 'tool_call_args', index, text: c.arguments });
        } else if (c.arguments.length > sent.length && c.arguments.startsWith(sent)) {
          out.push({ type: 'tool_call_args', index, text: c.arguments.slice(sent.length) });
        }
        out.push({ type: 'tool_call_end', index });
      });
      return;
    }
    // Malformed call JSON (or a leading value that is not a call) stays content: the model's text is shown
    // as written rather than failing a request over a call it did not manage to write.
    this.text(out, open + body + close, 'content');
  }

  /**
   * streamCalls: reports the calls of the open block as far as they are written: a call once its name is
   * complete, then its arguments, compact, as they grow. flushBlock() finishes them.
   */
  private streamOpenCalls(out: ToolStreamEvent[]): void {
    const partial = !this.streamCalls ? undefined : this.mode === 'leading' ? this.rules.leadingPartial : this.block?.partial;
    if (!partial) return;
    const calls = partial(this.buf);
    for (let k = 0; k < calls.length; k++) {
      const c = calls[k]!;
      const index = this.calls + k;
      let s = this.streamed[k];
      if (!s) {
        if (c.name === undefined) break;
        s = this.streamed[k] = { sent: '' };
        this.endPiece();
        this.replied = true;
        out.push({ type: 'tool_call_start', index, name: c.name, ...(c.id !== undefined ? { id: c.id } : {}) });
      }
      if (c.arguments === undefined) continue;
      const compact = compactJson(c.arguments);
      if (compact.length > s.sent.length && compact.startsWith(s.sent)) {
        out.push({ type: 'tool_call_args', index, text: compact.slice(s.sent.length) });
        s.sent = compact;
      }
    }
  }

  /** Emits text of one kind, holding whitespace at the piece's edges. */
  private text(out: ToolStreamEvent[], s: string, kind: 'content' | 'reasoning'): void {
    if (s === '') return;
    const m = /^([\s\S]*?)(\s*)$/.exec(s)!;
    const body = m[1]!;
    if (body !== '') {
      if (kind === 'content') this.replied = true;
      const lead = this.pieceStarted ? this.pendingSpace : '';
      out.push({ type: kind, text: lead + (this.pieceStarted ? body : body.replace(/^\s+/, '')) });
      this.pieceStarted = true;
      this.pendingSpace = m[2]!;
    } else if (this.pieceStarted) {
      this.pendingSpace += m[2]!;
    }
  }

  private endPiece(): void {
    this.pendingSpace = '';
    this.pieceStarted = false;
  }
}

/** Joins neighbouring text events of one kind (a delta's pieces arrive as one event). */
function merge(events: ToolStreamEvent[]): ToolStreamEvent[] {
  const out: ToolStreamEvent[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (last && (e.type === 'content' || e.type === 'reasoning') && last.type === e.type) {
      out[out.length - 1] = { type: e.type, text: last.text + e.text };
    } else if (last?.type === 'tool_call_args' && e.type === 'tool_call_args' && last.index === e.index) {
      out[out.length - 1] = { ...last, text: last.text + e.text };
    } else out.push(e);
  }
  return out;
}

/** Adds up stream events into the finished output's parse. */
export function collectToolEvents(events: Iterable<ToolStreamEvent>): ParsedOutput {
  let content = '';
  let reasoning: string | undefined;
  const calls: ParsedToolCall[] = [];
  for (const e of events) {
    if (e.type === 'content') content += e.text;
    else if (e.type === 'reasoning') reasoning = (reasoning ?? '') + e.text;
    else if (e.type === 'tool_call_start') calls[e.index] = { name: e.name, arguments: '', ...(e.id !== undefined ? { id: e.id } : {}) };
    else if (e.type === 'tool_call_args') calls[e.index]!.arguments += e.text;
  }
  return { content, toolCalls: calls, ...(reasoning !== undefined ? { reasoning } : {}) };
}

/** The content, calls and reasoning in a finished output. */
export function parseToolOutput(family: ToolFamily, text: string, opts: ToolParserOptions = {}): ParsedOutput {
  const p = new ToolCallStreamParser(family, opts);
  return collectToolEvents([...p.push(text), ...p.finish()]);
}
