// Grammar (llama.cpp GBNF) that forces a tool call in the model's own syntax when a request says it must call:
// tool_choice "required" (one or more calls of any of the tools) or a named function (exactly one call of
// it). Each tool's argument object follows its parameters schema, compiled by the JSON-schema compiler.
// It lives here rather than in chat/ because it joins the chat side (families, call syntax) with the
// engine's grammar compiler, and only the provider may import both.
import type { ToolChoice, ToolFamily, ToolSpec } from '../chat/tools.ts';
import { DEEPSEEK_MARKERS, toolSpelling, type ToolSpelling } from '../chat/tools.ts';
import { HearthError } from '../util/errors.ts';
import { jsonSchemaToGbnf } from '../engine/sampler/index.ts';

export interface ToolGrammarOptions {
  /** JSON schema → GBNF with root rule `root` (default: the engine's jsonSchemaToGbnf). */
  schemaToGbnf?: (schema: unknown) => string;
  /**
   * Let a `<think>…</think>` block come before the calls (Qwen3 with thinking on): without it the grammar
   * would forbid the reasoning the template asked for.
   */
  allowReasoning?: boolean;
  /**
   * The chat template, to pick the family's spelling where it has two: Mistral Small 3.2's
   * `[TOOL_CALLS]name[ARGS]{…}` over Nemo's JSON list, DeepSeek V3.1's `name<｜tool▁sep｜>{…}` over V3's
   * typed, fenced call. Without it: the older spelling.
   */
  template?: string;
  /** At most one call for 'required' (OpenAI parallel_tool_calls: false, Anthropic disable_parallel_tool_use). */
  single?: boolean;
  /**
   * The prompt itself opened the reasoning block (DeepSeek-R1's generation prompt ends with `<think>\n`): the
   * output is the rest of that block, `</think>`, then the calls.
   */
  openReasoning?: boolean;
}

interface Spelling extends ToolSpelling {
  family: ToolFamily;
}

/** A GBNF string literal for `s`. */
function lit(s: string): string {
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c).replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t') + '"';
}

/** Rule names a grammar text defines (one rule per `name ::=` at a line's start, as GBNF writes them). */
function definedRules(gbnf: string): Set<string> {
  const names = new Set<string>();
  for (const m of gbnf.matchAll(/^([a-zA-Z0-9_-]+)\s*::=/gm)) names.add(m[1]!);
  return names;
}

/**
 * The grammar with every rule it defines renamed `prefix + name`, so several compiled schemas live in one
 * grammar. Names are replaced only outside string literals, character classes, repetition braces and comments.
 */
export function prefixRules(gbnf: string, prefix: string): string {
  const names = definedRules(gbnf);
  let out = '';
  for (let i = 0; i < gbnf.length;) {
    const c = gbnf[i]!;
    if (c === '"' || c === '[') {
      const end = c === '"' ? '"' : ']';
      let j = i + 1;
      while (j < gbnf.length && gbnf[j] !== end) j += gbnf[j] === '\\' ? 2 : 1;
      out += gbnf.slice(i, j + 1);
      i = j + 1;
    } else if (c === '{' || c === '#') {
      const j = gbnf.indexOf(c === '{' ? '}' : '\n', i);
      const stop = j < 0 ? gbnf.length : j + 1;
      out += gbnf.slice(i, stop);
      i = stop;
    } else if (/[a-zA-Z0-9_-]/.test(c)) {
      let j = i;
      while (j < gbnf.length && /[a-zA-Z0-9_-]/.test(gbnf[j]!)) j++;
      const word = gbnf.slice(i, j);
      out += names.has(word) ? prefix + word : word;
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** One call of `name` with `args` (a rule for its argument object) in the family's syntax, as GBNF. */
function callRule(sp: Spelling, name: string, args: string): string {
  switch (sp.family) {
    case 'hermes': return `${lit(`<tool_call>\n{"name": "${name}", "arguments": `)} ${args} ${lit('}\n</tool_call>')}`;
    case 'llama3': return `${lit(`{"name": "${name}", "parameters": `)} ${args} ${lit('}')}`;
    // Mistral's calls carry a 9-character id, which its template checks in the history.
    case 'mistral':
      if (sp.mistralArgs) return `${lit(`[TOOL_CALLS]${name}[ARGS]`)} ${args}`;
      return `${lit(`{"name": "${name}", "arguments": `)} ${args} ${lit(', "id": "')} [a-zA-Z0-9]{9} ${lit('"}')}`;
    case 'deepseek':
      if (sp.deepseekV31) return `${lit(DEEPSEEK_MARKERS.callBegin + name + DEEPSEEK_MARKERS.sep)} ${args} ${lit(DEEPSEEK_MARKERS.callEnd)}`;
      return `${lit(DEEPSEEK_MARKERS.callBegin + 'function' + DEEPSEEK_MARKERS.sep + name + '\n```json\n')} ${args} ` +
        lit('\n```' + DEEPSEEK_MARKERS.callEnd);
    case 'generic': return `${lit(`{"name": "${name}", "arguments": `)} ${args} ${lit('}')}`;
  }
}

/** The calls (rule `call`, one of the allowed tools; `many`: one or more) wrapped as the family writes them. */
function callsRule(sp: Spelling, many: boolean): string {
  switch (sp.family) {
    case 'hermes': return many ? 'call ("\\n" call)*' : 'call';
    // Llama 3.x calls one function per turn; its templates have no syntax for more.
    case 'llama3': return 'call';
    case 'mistral':
      if (sp.mistralArgs) return many ? 'call+' : 'call';
      return `${lit('[TOOL_CALLS][')} call ${many ? `(${lit(', ')} call)* ` : ''}${lit(']')}`;
    case 'deepseek': return `${lit(DEEPSEEK_MARKERS.callsBegin)} call ${many ? '("\\n" call)* ' : ''}${lit(DEEPSEEK_MARKERS.callsEnd)}`;
    case 'generic': return `${lit('{"tool_calls": [')} call ${many ? `(${lit(', ')} call)* ` : ''}${lit(']}')}`;
  }
}

/**
 * Text of a `<think>` block: anything but its closing tag. A `<` that starts a prefix of `</think>` must
 * continue it or break off with another character (a `<` right before `</think>` is the one spelling it
 * cannot close after).
 */
const THINK_RULES = [
  'think ::= "<think>" think-text "</think>" [ \\t\\n]*',
  'think-text ::= ( [^<] | "<" ( [^/] | "/" ( [^t] | "t" ( [^h] | "h" ( [^i] | "i" ( [^n] | "n" ( [^k] | "k" [^>] ) ) ) ) ) ) )*',
];

/**
 * GBNF forcing the family's call syntax for `choice`: 'required' allows one or more calls (Llama 3.x: one)
 * of any tool, `{ name }` exactly one call of that tool. 'auto' and 'none' need no grammar: undefined.
 * Throws HearthError('invalid_argument') for a named tool not in `tools` or 'required' with no tools, and
 * whatever the schema compiler throws for a parameters schema it cannot honour.
 */
export function toolChoiceGrammar(family: ToolFamily, tools: ToolSpec[], choice: ToolChoice,
  opts: ToolGrammarOptions = {}): string | undefined {
  const schemaToGbnf = opts.schemaToGbnf ?? jsonSchemaToGbnf;
  if (choice === 'auto' || choice === 'none') return undefined;
  let allowed: ToolSpec[];
  if (choice === 'required') {
    if (tools.length === 0) throw new HearthError('invalid_argument', 'tool_choice "required" needs at least one tool in tools');
    allowed = tools;
  } else {
    const t = tools.find((x) => x.name === choice.name);
    if (!t) {
      throw new HearthError('invalid_argument',
        `tool_choice names function "${choice.name}", which is not in tools (${tools.map((x) => x.name).join(', ') || 'none given'})`);
    }
    allowed = [t];
  }
  const sp: Spelling = { family, ...toolSpelling(opts.template) };
  const head = callsRule(sp, choice === 'required' && !opts.single);
  const lead = opts.openReasoning ? 'think-text "</think>" [ \\t\\n]* ' : opts.allowReasoning ? 'think? ' : '';
  const lines = [`root ::= ${lead}${head}`, ...callRules(sp, allowed, schemaToGbnf)];
  if (opts.allowReasoning || opts.openReasoning) lines.push(...THINK_RULES);
  return lines.join('\n') + '\n';
}

/** Rule `call`: one call of any of `tools`, each tool's arguments held to its parameters schema. */
function callRules(sp: Spelling, tools: ToolSpec[], schemaToGbnf: (schema: unknown) => string): string[] {
  const lines = ['call ::= ' + tools.map((_, i) => `call${i}`).join(' | ')];
  tools.forEach((t, i) => {
    // The name goes into a JSON string inside a GBNF literal: JSON-escape it here, lit() escapes for GBNF.
    const name = JSON.stringify(t.name).slice(1, -1);
    lines.push(`call${i} ::= ${callRule(sp, name, `t${i}-root`)}`);
    lines.push(prefixRules(schemaToGbnf(t.parameters ?? { type: 'object' }), `t${i}-`).trim());
  });
  return lines;
}

/** The word that opens a family's calls, where it has one that prose does not (Llama 3.x and the generic JSON have none). */
const TRIGGERS: Partial<Record<ToolFamily, string>> = {
  hermes: '<tool_call>', mistral: '[TOOL_CALLS]', deepseek: DEEPSEEK_MARKERS.callsBegin,
};

/**
 * The lazy grammar for tool_choice "auto": the model may answer in prose, and once it writes the word that
 * opens its family's calls, what follows must be well-formed calls of the tools (llama.cpp does the same).
 * Undefined for families without such a word, where auto-mode calls are read as written.
 */
export function lazyToolGrammar(family: ToolFamily, tools: ToolSpec[], opts: Pick<ToolGrammarOptions, 'schemaToGbnf' | 'template' | 'single'> = {}):
  { grammar: string; triggers: string[] } | undefined {
  const trigger = TRIGGERS[family];
  if (trigger === undefined || tools.length === 0) return undefined;
  const sp: Spelling = { family, ...toolSpelling(opts.template) };
  // The calls may be followed by one newline before the end of the turn.
  const root = `root ::= ${callsRule(sp, !opts.single)} "\\n"?`;
  return { grammar: [root, ...callRules(sp, tools, opts.schemaToGbnf ?? jsonSchemaToGbnf)].join('\n') + '\n', triggers: [trigger] };
}
