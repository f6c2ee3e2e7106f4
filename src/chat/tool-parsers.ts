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

/**
 * Arguments as JSON text: an object is written compactly; a string that holds a JSON object (some models
 * quote their arguments) is taken as that object; anything else does not make a call.
 */
function argumentsText(v: unknown): string | null {
  if (isObject(v)) return JSON.stringify(v);
  if (typeof v === 'string') {
    const inner = parseJson(v);
    return isObject(inner) ? JSON.stringify(inner) : null;
  }
  return null;
}

/** `{"name": …, "<argsKey>": {…}}` (and `id` where present) as a call. */
function callFromObject(v: unknown, argsKeys: string[]): ParsedToolCall | null {
  if (!isObject(v) || typeof v.name !== 'string' || v.name === '') return null;
  const key = argsKeys.find((k) => k in v);
  const args = key === undefined ? '{}' : argumentsText(v[key]);
  if (args === null) return null;
  return { name: v.name, arguments: args, ...(typeof v.id === 'string' ? { id: v.id } : {}) };
}

function callsFromArray(v: unknown, argsKeys: string[]): ParsedToolCall[] | null {
  if (!Array.isArray(v) || v.length === 0) return null;
  const calls = v.map((c) => callFromObject(c, argsKeys));
  return calls.every((c) => c !== null) ? calls as ParsedToolCall[] : null;
}

const hermes: FamilyRules = {
  blocks: [{
    open: '<tool_call>', close: '</tool_call>',
    parse: (body) => {
      const c = callFromObject(parseJson(body), ['arguments', 'parameters']);
      return c && [c];
    },
  }],
  drop: [],
};

/** Llama 3.x's call object; a list of them is read too (Llama 3.2 sometimes writes one). */
function llamaCalls(body: string): ParsedToolCall[] | null {
  const v = parseJson(body);
  if (Array.isArray(v)) return callsFromArray(v, ['parameters', 'arguments']);
  const c = callFromObject(v, ['parameters', 'arguments']);
  return c && [c];
}

const llama3: FamilyRules = {
  blocks: [{ open: '<|python_tag|>', parse: llamaCalls }],
  drop: [],
  leadingJson: llamaCalls,
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
        const args = argumentsText(parseJson(body.slice(at + MISTRAL_ARGS.length)));
        const [name, id] = body.slice(0, at).trim().split(MISTRAL_CALL_ID) as [string, string | undefined];
        return args === null ? null : [{ name, arguments: args, ...(id ? { id } : {}) }];
      }
      return callsFromArray(parseJson(body), ['arguments', 'parameters']);
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
      const args = argumentsText(parseJson(fenced ? fenced[1]! : rest));
      return args === null || name === '' ? null : [{ name, arguments: args }];
    },
  }],
  drop: [DEEPSEEK_MARKERS.callsBegin, DEEPSEEK_MARKERS.callsEnd],
};

/** The generic convention: `{"tool_calls": [...]}`, also `{"tool_call": {...}}` and `{"response": "…"}`. */
const generic: FamilyRules = {
  blocks: [],
  drop: [],
  leadingJson: (body) => {
    const v = parseJson(body);
    if (!isObject(v)) return null;
    if ('tool_calls' in v) return callsFromArray(v.tool_calls, ['arguments', 'parameters']);
    if ('tool_call' in v) {
      const c = callFromObject(v.tool_call, ['arguments', 'parameters']);
      return c && [c];
    }
    return null;
  },
};

const RULES: Record<ToolFamily, FamilyRules> = { hermes, llama3, mistral, deepseek, generic };

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

  readonly family: ToolFamily;

  constructor(family: ToolFamily, opts: ToolParserOptions = {}) {
    this.family = family;
    this.rules = RULES[family];
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
      if (end < 0) return;
      const body = this.buf.slice(0, end);
      this.buf = this.buf.slice(end + close.length);
      this.flushBlock(out, body, close);
      return;
    }
    const end = this.mode === 'block' && this.block!.end ? this.block!.end(this.buf) : jsonValueEnd(this.buf, 0);
    if (end === -1) return;
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
    this.mode = 'content';
    this.block = undefined;
    if (calls) {
      this.endPiece();
      this.replied = true;
      for (const c of calls) {
        const index = this.calls++;
        out.push({ type: 'tool_call_start', index, name: c.name, ...(c.id !== undefined ? { id: c.id } : {}) });
        out.push({ type: 'tool_call_args', index, text: c.arguments });
        out.push({ type: 'tool_call_end', index });
      }
      return;
    }
    // Malformed call JSON (or a leading value that is not a call) stays content: the model's text is shown
    // as written rather than failing a request over a call it did not manage to write.
    this.text(out, open + body + close, 'content');
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
