// Tools on the template side: the tool spec, which call syntax a chat template teaches its model (the
// family), and the shapes Hugging Face transformers gives templates for `tools`, `tool_calls` and tool
// results. Templates with no tool syntax get a JSON convention described in a system note instead.
import type { ChatMessage } from './template.ts';

/** A function the model may call; `parameters` is a JSON schema for its argument object. */
export interface ToolSpec {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
}

/**
 * The call syntax a template teaches:
 *   hermes   `<tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>` (Qwen2.5, Qwen3, Hermes 2/3)
 *   llama3   `{"name": …, "parameters": {…}}`, optionally after `<|python_tag|>` (Llama 3.1–3.3)
 *   mistral  `[TOOL_CALLS][{"name": …, "arguments": {…}, "id": …}]`
 *   deepseek `<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>name\n```json\n{…}\n```<｜tool▁call▁end｜>…`
 *   generic  no syntax in the template: `{"tool_calls": [{"name": …, "arguments": {…}}]}` as the whole reply
 */
export type ToolFamily = 'hermes' | 'llama3' | 'mistral' | 'deepseek' | 'generic';

/** Which calls a request allows: any or none (`auto`), none, at least one of the tools, or exactly the named one. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export const DEEPSEEK_MARKERS = {
  callsBegin: '<｜tool▁calls▁begin｜>',
  callsEnd: '<｜tool▁calls▁end｜>',
  callBegin: '<｜tool▁call▁begin｜>',
  callEnd: '<｜tool▁call▁end｜>',
  sep: '<｜tool▁sep｜>',
} as const;

/**
 * The family whose call syntax the template text teaches. The checks go from the most specific marker to
 * the loosest: Hermes-style templates built on Llama 3 (Hermes 3) also write `<|start_header_id|>`, so
 * `<tool_call>` is looked for before Llama's JSON style.
 */
export function detectToolFamily(template: string | undefined): ToolFamily {
  if (!template) return 'generic';
  if (template.includes(DEEPSEEK_MARKERS.callsBegin) || template.includes(DEEPSEEK_MARKERS.callBegin)) return 'deepseek';
  // `<tool_call>` with JSON inside; Qwen3-Coder, GLM and MiniMax write XML arguments there, which no
  // parser here reads, so they fall to the generic convention.
  if (template.includes('<tool_call>') && /\\?"name\\?"/.test(template) && !/<function=|<arg_key>|<parameter=/.test(template)) {
    return 'hermes';
  }
  if (template.includes('[TOOL_CALLS]')) return 'mistral';
  if (template.includes('<|python_tag|>')) return 'llama3';
  // Llama 3.2's template teaches `{"name": function name, "parameters": dictionary of argument name and its value}`
  // without the python tag; its header tokens and the word "parameters" near a tool loop give it away.
  if (template.includes('<|start_header_id|>') && /\btools\b/.test(template) && template.includes('"parameters"')) {
    return 'llama3';
  }
  return 'generic';
}

/** The tools as HF transformers passes them to apply_chat_template: `[{type: 'function', function: {…}}]`. */
export function hfTools(tools: ToolSpec[]): Record<string, unknown>[] {
  return tools.map((t) => ({
    type: 'function',
    function: {
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      parameters: t.parameters,
    },
  }));
}

/** How a template wants tool-call messages shaped, read from its text. */
export interface TemplateToolShape {
  /**
   * How `arguments` reaches the template: 'object' where it is written with `tojson` and never tested with
   * `is string` (Llama 3.1, Mistral; a string would come out quoted twice); 'string' where it is written
   * raw (DeepSeek V3 concatenates it with `+`, which an object would break); 'as-given' where the template
   * takes either (Qwen3 tests `is string`), so the caller's text goes in verbatim.
   */
  arguments: 'object' | 'string' | 'as-given';
  /**
   * An assistant turn that only calls tools has `content: none` (DeepSeek V3 writes its calls only under
   * `content is none`), as OpenAI clients send it.
   */
  nullContentForCalls: boolean;
}

export function templateToolShape(template: string): TemplateToolShape {
  const tested = /arguments['"]?\]?\s+is\s+(not\s+)?string/.test(template);
  // Mistral Nemo writes the whole `function` object with tojson, arguments inside it.
  const tojson = /(arguments|function)['"]?\]?\s*\|\s*tojson/.test(template);
  return {
    arguments: tested ? 'as-given' : tojson ? 'object' : 'string',
    nullContentForCalls: /(\[['"]content['"]\]|\.content)\s+is\s+(not\s+)?none/.test(template),
  };
}

/** Arguments in the form a template wants: JSON text parsed to an object, an object written as JSON text. */
export function argumentsValue(args: string | Record<string, unknown>, form: TemplateToolShape['arguments']): unknown {
  if (form === 'as-given') return args;
  if (form === 'string') return typeof args === 'string' ? args : JSON.stringify(args);
  if (typeof args !== 'string') return args;
  try {
    const v: unknown = JSON.parse(args);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : args;
  } catch {
    return args; // not JSON: the template shows the text as it is rather than failing the request
  }
}

/**
 * The system note that teaches a template-less tool convention, the way llama.cpp's generic handler does:
 * the tools' schemas and the one JSON shape a call takes. The generic parser reads exactly that shape.
 */
export function genericToolNote(tools: ToolSpec[]): string {
  const list = tools.map((t) => JSON.stringify({
    name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.parameters,
  })).join('\n');
  return 'You can call these tools:\n' + list + '\n\n' +
    'To call one or more tools, reply with only this JSON and nothing else:\n' +
    exampleCall('generic', '<tool name>', '{<arguments as the tool\'s parameters describe>}') + '\n' +
    'Otherwise reply in plain text.';
}

/**
 * Where a family has two spellings, which one the template writes: Mistral Small 3.2 / Devstral's
 * `[TOOL_CALLS]name[ARGS]{…}` rather than Nemo's JSON list; DeepSeek V3.1's `name<｜tool▁sep｜>{…}` rather
 * than V3's `function<｜tool▁sep｜>name` and a fenced block.
 */
export interface ToolSpelling {
  mistralArgs: boolean;
  deepseekV31: boolean;
}

export function toolSpelling(template: string | undefined): ToolSpelling {
  return {
    mistralArgs: !!template?.includes('[ARGS]'),
    deepseekV31: !!template && /\[['"]name['"]\]\s*\+\s*['"]<｜tool▁sep｜>/.test(template),
  };
}

/** One call in the family's syntax (as `spelling` says), `args` standing for the argument object. */
export function exampleCall(family: ToolFamily, name: string, args: string, spelling?: ToolSpelling): string {
  switch (family) {
    case 'hermes': return `<tool_call>\n{"name": "${name}", "arguments": ${args}}\n</tool_call>`;
    case 'llama3': return `{"name": "${name}", "parameters": ${args}}`;
    case 'mistral':
      return spelling?.mistralArgs ? `[TOOL_CALLS]${name}[ARGS]${args}` : `[TOOL_CALLS][{"name": "${name}", "arguments": ${args}}]`;
    case 'deepseek':
      if (spelling?.deepseekV31) {
        return DEEPSEEK_MARKERS.callsBegin + DEEPSEEK_MARKERS.callBegin + name + DEEPSEEK_MARKERS.sep + args +
          DEEPSEEK_MARKERS.callEnd + DEEPSEEK_MARKERS.callsEnd;
      }
      return DEEPSEEK_MARKERS.callsBegin + DEEPSEEK_MARKERS.callBegin + 'function' + DEEPSEEK_MARKERS.sep + name +
        '\n```json\n' + args + '\n```' + DEEPSEEK_MARKERS.callEnd + DEEPSEEK_MARKERS.callsEnd;
    case 'generic': return `{"tool_calls": [{"name": "${name}", "arguments": ${args}}]}`;
  }
}

/**
 * The system note for a template that writes tool calls but never lists the tools (DeepSeek V3's writes
 * `tool_calls` and never reads `tools`), as minja's polyfill gives such templates in llama.cpp: without
 * it the model would not know what it may call.
 */
export function toolListNote(family: ToolFamily, tools: ToolSpec[], spelling?: ToolSpelling): string {
  return 'You can call these tools:\n' + JSON.stringify(hfTools(tools)) + '\n\nA tool call is written like this:\n' +
    exampleCall(family, tools[0]?.name ?? 'tool_name', '{"argument": "value"}', spelling);
}

/** Messages with `note` joined to the system prompt, or as a new system prompt when there is none. */
export function withSystemNote(messages: ChatMessage[], note: string): ChatMessage[] {
  if (messages[0]?.role === 'system') return [{ ...messages[0], content: messages[0].content + '\n\n' + note }, ...messages.slice(1)];
  return [{ role: 'system', content: note }, ...messages];
}

/**
 * Messages rewritten for a template without tool syntax: the note joins the system prompt (or becomes one),
 * an assistant's calls are written as the JSON it would have replied with, and tool results become a user
 * turn (several results in a row, one turn) since such templates know only system, user and assistant.
 */
export function genericToolMessages(messages: ChatMessage[], tools: ToolSpec[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  const rest = tools.length > 0 ? withSystemNote(messages, genericToolNote(tools)) : messages;
  let results: ChatMessage | undefined; // the user turn tool results are being gathered into
  for (const m of rest) {
    if (m.role !== 'tool') results = undefined;
    if (m.role === 'assistant' && m.toolCalls && m.toolCalls.length > 0) {
      const calls = m.toolCalls.map((c) => ({
        name: c.function.name,
        arguments: argumentsValue(c.function.arguments, 'object'),
        ...(c.id !== undefined ? { id: c.id } : {}),
      }));
      const json = JSON.stringify({ tool_calls: calls });
      const { toolCalls: _, ...plain } = m;
      out.push({ ...plain, content: m.content ? m.content + '\n' + json : json });
    } else if (m.role === 'tool') {
      const result = JSON.stringify({
        tool_response: {
          ...(m.name !== undefined ? { tool: m.name } : {}),
          ...(m.toolCallId !== undefined ? { tool_call_id: m.toolCallId } : {}),
          content: m.content,
        },
      });
      if (results) results.content += '\n' + result;
      else out.push(results = { role: 'user', content: result });
    } else {
      out.push(m);
    }
  }
  return out;
}
