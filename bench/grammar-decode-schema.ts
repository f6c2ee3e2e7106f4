// The schema and prompt of bench/grammar-decode.ts, and a check that a decoded text is the start of a
// document the schema accepts.

/**
 * An object holding one array of strings that must have at least 48 items: the output cannot close before
 * 48 tokens (each item takes at least one), so both engines decode the whole measured length under it.
 */
export const SCHEMA = {
  type: 'object',
  properties: { items: { type: 'array', items: { type: 'string' }, minItems: 48, maxItems: 1000 } },
  required: ['items'],
  additionalProperties: false,
} as const;

export const PROMPT = 'A JSON object listing the fruits of the orchard: ';

/**
 * Whether `text` is a prefix of a document SCHEMA accepts: closes what is open (the string, a key with
 * `:null`, the brackets), parses it, and checks the object has at most an `items` key holding strings.
 * Returns the reason when it is not.
 */
export function schemaPrefixError(text: string): string | null {
  const t = text.trimStart();
  if (!t.startsWith('{')) return `does not start with "{": ${JSON.stringify(text.slice(0, 40))}`;
  const stack: string[] = [];
  let inString = false;
  let escape = false;
  let keyString = false;
  let last = ''; // the last significant character outside strings
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (inString) {
      if (escape) escape = false;
      else if (c === '\\') escape = true;
      else if (c === '"') { inString = false; last = '"'; }
      continue;
    }
    if (c === '"') { inString = true; keyString = stack.at(-1) === '}' && (last === '{' || last === ','); }
    else if (c === '{') stack.push('}');
    else if (c === '[') stack.push(']');
    else if (c === '}' || c === ']') { if (stack.pop() !== c) return `unbalanced "${c}"`; }
    if (!/\s/.test(c)) last = c;
  }
  let s = t;
  if (inString) s = escape ? s.slice(0, -1) : s.replace(/\\u[0-9a-fA-F]{0,3}$/, ''); // a cut escape
  if (inString) s += keyString ? '":null' : '"';
  else if (last === '"' && keyString) s += ':null';
  else if (last === ':') s += 'null';
  else if (last === ',') s = s.replace(/,\s*$/, '');
  s += stack.reverse().join('');
  let doc: unknown;
  try {
    doc = JSON.parse(s);
  } catch (e) {
    return `not a JSON prefix (${(e as Error).message}): ${JSON.stringify(text.slice(0, 80))}`;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'not an object';
  for (const [k, v] of Object.entries(doc)) {
    if (k === 'items' || 'items'.startsWith(k)) {
      if (v !== null && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) return '"items" is not an array of strings';
    } else return `unexpected key ${JSON.stringify(k)}`;
  }
  return null;
}
