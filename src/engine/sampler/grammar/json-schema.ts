// JSON Schema -> GBNF (llama.cpp's grammar format), for constrained sampling of structured output.
// The semantics follow llama.cpp's converter (common/json-schema-to-grammar.cpp): the same whitespace, primitives and
// object layout. Where that converter loosens or drops a keyword, this one refuses it: every keyword either
// constrains the grammar or is an annotation, and anything else is an unsupported_field error naming it and its place.
// The grammar may admit fewer spellings than JSON does (one escape per character, 16-digit integers, no 02-29,
// declared properties in schema order) but never a value the schema rejects, with one exception: oneOf is read as
// anyOf, so a value matching two of its alternatives passes too.
import { integerRange, literal, numberRange, repetition, RuleSet, type NumberBound } from './json-schema-gbnf.ts';
import {
  ARRAY_KEYWORDS, at, constraining, FORMATS, BOUND_KEYWORDS, invalid, isSchema, jsonType, KNOWN, mergeKeywords, OBJECT_KEYWORDS,
  pointer, sameJson, STRING_KEYWORDS, TYPES, unsupported, VACUOUS, without, type Schema, type TypeName,
} from './json-schema-keywords.ts';
import { patternToGbnf } from './json-schema-pattern.ts';

export interface JsonSchemaGbnfOptions {
  /** `.` in patterns matches line ends too (the regex `s` flag). Default false. */
  readonly dotall?: boolean;
  /** Properties named here come first, in this order; the others follow in schema order. */
  readonly propertyOrder?: readonly string[];
  /**
   * An object schema with properties but no additionalProperties admits other properties too (JSON Schema's
   * default). Default false: only the declared ones, as llama.cpp's converter and OpenAI's strict mode read it.
   */
  readonly openObjects?: boolean;
}

/**
 * GBNF for values of `schema` (root rule `root`), with whitespace as llama.cpp's converter allows it. Throws
 * HearthError('unsupported_field') naming the keyword and its JSON pointer for any keyword it cannot honour, and
 * HearthError('invalid_argument') for a malformed schema (bad $ref, wrong types) or one no value satisfies.
 */
export function jsonSchemaToGbnf(schema: unknown, options: JsonSchemaGbnfOptions = {}): string {
  const c = new Compiler(schema, options);
  c.rules.set('root', c.body(schema, '', 'root', new Set()));
  return c.rules.format();
}

interface ObjectShape {
  props: Array<{ name: string; schema: unknown; ptr: string }>;
  required: Set<string>;
  /** false: closed; true: any value; else the schema of other properties. */
  additional: unknown;
  additionalPtr: string;
  /** Closed only because additionalProperties is absent (and openObjects is off). */
  closedByDefault?: boolean;
  ptr: string;
}

class Compiler {
  readonly rules = new RuleSet();
  private readonly refRules = new Map<string, string>();
  private readonly dotall: boolean;
  private readonly root: unknown;
  private readonly options: JsonSchemaGbnfOptions;

  constructor(root: unknown, options: JsonSchemaGbnfOptions) {
    this.root = root;
    this.options = options;
    this.dotall = options.dotall ?? false;
  }

  /** A rule for `schema` named after `name`; returns its name. */
  rule(schema: unknown, ptr: string, name: string, head: ReadonlySet<string>): string {
    const body = this.body(schema, ptr, name, head);
    // A body that is one rule's name needs no alias.
    return /^[a-zA-Z0-9-]+$/.test(body) && name !== 'root' ? body : this.rules.add(name, body);
  }

  /**
   * The GBNF body for `schema`. `head`: the $refs entered since the last object or array, to refuse a schema that
   * refers to itself before any character is written (a left-recursive grammar).
   */
  body(schema: unknown, ptr: string, name: string, head: ReadonlySet<string>): string {
    if (schema === true) return this.rules.primitive('value');
    if (schema === false) unsupported('false', ptr, 'the schema false admits no value');
    if (!isSchema(schema)) invalid(ptr, `a schema must be an object or a boolean, not ${jsonType(schema)}`);
    for (const key of Object.keys(schema)) {
      if (KNOWN.has(key)) continue;
      if (key in VACUOUS && schema[key] === VACUOUS[key]) continue;
      unsupported(key, pointer(ptr, key), 'this compiler cannot express it in a grammar; remove it or check values after generation');
    }
    const keys = constraining(schema);
    if ('$ref' in schema) {
      const rest = keys.filter((k) => k !== '$ref');
      if (rest.length === 0) return this.ref(schema.$ref, pointer(ptr, '$ref'), head);
      return this.allOf([{ $ref: schema.$ref }, without(schema, ['$ref'])], ptr, name, head, [pointer(ptr, '$ref'), ptr]);
    }
    const alternatives = 'anyOf' in schema ? 'anyOf' : 'oneOf' in schema ? 'oneOf' : undefined;
    if (alternatives !== undefined) {
      const others = keys.filter((k) => k !== alternatives);
      const objectOnly = others.every((k) => (k === 'type' ? schema.type === 'object' : OBJECT_KEYWORDS.includes(k)));
      if (others.length > 0 && !objectOnly) {
        unsupported(alternatives, ptr, `combined with ${others.map((k) => `'${k}'`).join(', ')}; move those keywords into each alternative`);
      }
      // oneOf as alternatives: a value matching two of them is admitted too (a grammar cannot count matches).
      const alts = this.array(schema[alternatives], pointer(ptr, alternatives));
      if (alts.length === 0) invalid(pointer(ptr, alternatives), `${alternatives} must not be empty`);
      const siblings = without(schema, [alternatives]);
      return alts.map((a, i) => {
        const at = pointer(pointer(ptr, alternatives), i);
        // Object keywords beside the alternatives hold in each: every alternative is merged with them as allOf.
        if (others.length > 0) return this.rules.add(`${name}-${i}`, this.allOf([siblings, a], at, `${name}-${i}`, head, [ptr, at]));
        return this.rule(a, at, `${name}-${i}`, head);
      }).join(' | ');
    }
    if ('allOf' in schema) {
      const parts = this.array(schema.allOf, pointer(ptr, 'allOf'));
      const ptrs = parts.map((_, i) => pointer(pointer(ptr, 'allOf'), i));
      const rest = without(schema, ['allOf']);
      if (constraining(rest).length > 0) {
        parts.unshift(rest);
        ptrs.unshift(ptr);
      }
      if (parts.length === 0) invalid(pointer(ptr, 'allOf'), 'allOf must not be empty');
      if (parts.length === 1) return this.body(parts[0], ptrs[0]!, name, head);
      return this.allOf(parts, ptr, name, head, ptrs);
    }
    const types = this.types(schema, ptr);
    if ('enum' in schema || 'const' in schema) return this.constants(schema, ptr, types);
    if (types.length > 1) {
      return types.map((t) => this.rules.add(`${name}-${t}`, this.typed(t, schema, ptr, name))).join(' | ');
    }
    return types.length === 1 ? this.typed(types[0]!, schema, ptr, name) : this.rules.primitive('value');
  }

  private array(v: unknown, ptr: string): unknown[] {
    if (!Array.isArray(v)) invalid(ptr, `expected an array of schemas, got ${jsonType(v)}`);
    return [...v];
  }

  /** The types `schema` admits: its `type`, or the one its type-specific keywords imply (as llama.cpp does). */
  private types(schema: Schema, ptr: string): TypeName[] {
    if ('type' in schema) {
      const t = schema.type;
      const list = Array.isArray(t) ? t : [t];
      if (list.length === 0) invalid(pointer(ptr, 'type'), 'type must not be an empty array');
      for (const [i, x] of list.entries()) {
        if (typeof x !== 'string' || !TYPES.has(x)) {
          invalid(Array.isArray(t) ? pointer(pointer(ptr, 'type'), i) : pointer(ptr, 'type'), `type ${JSON.stringify(x)} is not one of ${[...TYPES].join(', ')}`);
        }
      }
      return [...new Set(list as TypeName[])];
    }
    if ('enum' in schema || 'const' in schema) return [];
    const implied = ([['object', OBJECT_KEYWORDS], ['array', ARRAY_KEYWORDS], ['string', STRING_KEYWORDS], ['integer', BOUND_KEYWORDS]] as const)
      .filter(([, kws]) => kws.some((k) => k in schema));
    if (implied.length > 1) {
      unsupported(implied.map(([, kws]) => kws.find((k) => k in schema)).join(' and '), ptr, 'keywords of several types without a type; add "type"');
    }
    if (implied[0]?.[0] === 'integer') unsupported(BOUND_KEYWORDS.find((k) => k in schema)!, ptr, 'a bound without a type; add "type": "integer" or "number"');
    return implied.map(([t]) => t);
  }

  private constants(schema: Schema, ptr: string, types: TypeName[]): string {
    const others = constraining(schema).filter((k) => k !== 'enum' && k !== 'const' && k !== 'type');
    if (others.length > 0) unsupported(others[0]!, pointer(ptr, others[0]!), `beside ${'enum' in schema ? 'enum' : 'const'}; list only the values that satisfy it`);
    let values: unknown[];
    if ('enum' in schema) {
      if (!Array.isArray(schema.enum) || schema.enum.length === 0) invalid(pointer(ptr, 'enum'), 'enum must be a non-empty array');
      values = schema.enum;
      if ('const' in schema) values = values.filter((v) => sameJson(v, schema.const));
    } else {
      values = [schema.const];
    }
    if (types.length > 0) values = values.filter((v) => types.includes(jsonType(v)) || (jsonType(v) === 'integer' && types.includes('number')));
    if (values.length === 0) invalid(ptr, 'no value satisfies enum/const together with type');
    const alts = [...new Set(values.map((v) => this.constant(v)))];
    return `(${alts.join(' | ')})`;
  }

  /** One JSON value exactly, with the whitespace the other rules allow inside arrays and objects. */
  private constant(v: unknown): string {
    if (typeof v === 'object' && v !== null) this.rules.primitive('space');
    if (Array.isArray(v)) {
      if (v.length === 0) return '"[" space "]"';
      return `"[" space ${v.map((x) => this.constant(x)).join(' "," space ')} space "]"`;
    }
    if (isSchema(v)) {
      const entries = Object.entries(v);
      if (entries.length === 0) return '"{" space "}"';
      return `"{" space ${entries.map(([k, x]) => `${literal(JSON.stringify(k))} space ":" space ${this.constant(x)}`).join(' "," space ')} space "}"`;
    }
    return literal(JSON.stringify(v));
  }

  private typed(type: TypeName, s: Schema, ptr: string, name: string): string {
    switch (type) {
      case 'null':
        return this.rules.primitive('null');
      case 'boolean':
        return this.rules.primitive('boolean');
      case 'number':
        return this.number(s, ptr);
      case 'integer':
        return this.integer(s, ptr);
      case 'string':
        return this.string(s, ptr, name);
      case 'array':
        return this.arrayOf(s, ptr, name);
      case 'object':
        return this.object(this.shape(s, ptr), name);
    }
  }

  private integer(s: Schema, ptr: string): string {
    let min: number | undefined, max: number | undefined;
    const bound = (k: string): number => {
      const v = s[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) invalid(pointer(ptr, k), `${k} must be a number`);
      if (Math.abs(v) > Number.MAX_SAFE_INTEGER) unsupported(k, pointer(ptr, k), `${v} is beyond ±2^53`);
      return v;
    };
    if ('minimum' in s) min = Math.ceil(bound('minimum'));
    if ('exclusiveMinimum' in s) min = Math.max(min ?? -Infinity, Math.floor(bound('exclusiveMinimum')) + 1);
    if ('maximum' in s) max = Math.floor(bound('maximum'));
    if ('exclusiveMaximum' in s) max = Math.min(max ?? Infinity, Math.ceil(bound('exclusiveMaximum')) - 1);
    if (min === undefined && max === undefined) return this.rules.primitive('integer');
    if (min !== undefined && max !== undefined && min > max) invalid(ptr, `no integer lies between the bounds ${min} and ${max}`);
    return integerRange(min, max);
  }

  /** A number between integer bounds is written without exponent; bounds with a fraction are refused. */
  private number(s: Schema, ptr: string): string {
    const bound = (k: string, open: boolean): NumberBound | undefined => {
      if (!(k in s)) return undefined;
      const v = s[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) invalid(pointer(ptr, k), `${k} must be a number`);
      if (!Number.isInteger(v)) unsupported(k, pointer(ptr, k), `${v} is not an integer; bounds on a number must be integers here`);
      if (Math.abs(v) > Number.MAX_SAFE_INTEGER) unsupported(k, pointer(ptr, k), `${v} is beyond ±2^53`);
      return { value: v, open };
    };
    // Of an inclusive and an exclusive bound on one side the tighter holds; at a tie, the exclusive one.
    const tighter = (a: NumberBound | undefined, b: NumberBound | undefined, lower: boolean): NumberBound | undefined => {
      if (a === undefined || b === undefined) return a ?? b;
      if (a.value === b.value) return { value: a.value, open: a.open || b.open };
      return (a.value > b.value) === lower ? a : b;
    };
    const min = tighter(bound('minimum', false), bound('exclusiveMinimum', true), true);
    const max = tighter(bound('maximum', false), bound('exclusiveMaximum', true), false);
    if (min === undefined && max === undefined) return this.rules.primitive('number');
    if (min !== undefined && max !== undefined && (min.value > max.value || (min.value === max.value && (min.open || max.open)))) {
      invalid(ptr, `no number lies between the bounds ${min.value} and ${max.value}`);
    }
    return numberRange(min, max);
  }

  private count(s: Schema, key: string, ptr: string): number | undefined {
    if (!(key in s)) return undefined;
    const v = s[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) invalid(pointer(ptr, key), `${key} must be a non-negative integer`);
    return v;
  }

  private string(s: Schema, ptr: string, name: string): string {
    const used = STRING_KEYWORDS.filter((k) => k in s);
    const groups = new Set(used.map((k) => (k === 'minLength' || k === 'maxLength' ? 'length' : k)));
    if (groups.size > 1) unsupported(used[1]!, pointer(ptr, used[1]!), `together with ${used[0]}; a grammar here takes one of pattern, format or length`);
    if ('format' in s) {
      if (typeof s.format !== 'string') invalid(pointer(ptr, 'format'), 'format must be a string');
      const f = FORMATS[s.format] ?? (/^uuid[1-5]$/.test(s.format) ? 'uuid' : undefined);
      if (f === undefined) unsupported('format', pointer(ptr, 'format'), `"${s.format}" (supported: ${Object.keys(FORMATS).join(', ')})`);
      return this.rules.primitive(f);
    }
    if ('pattern' in s) {
      if (typeof s.pattern !== 'string') invalid(pointer(ptr, 'pattern'), 'pattern must be a string');
      const body = patternToGbnf(s.pattern, at(pointer(ptr, 'pattern')), this.dotall, () => this.rules.primitive('char'));
      return `"\\"" ${this.rules.add(`${name}-pattern`, body)} "\\""`;
    }
    const min = this.count(s, 'minLength', ptr) ?? 0;
    const max = this.count(s, 'maxLength', ptr) ?? Infinity;
    if (min > max) invalid(ptr, `minLength ${min} is above maxLength ${max}`);
    if (min === 0 && max === Infinity) return this.rules.primitive('string');
    return `"\\"" ${repetition(this.rules.primitive('counted-char'), min, max)} "\\""`;
  }

  private arrayOf(s: Schema, ptr: string, name: string): string {
    let prefix: unknown[] = [];
    let prefixPtr = ptr;
    let rest: unknown = true;
    let restPtr = ptr;
    if (Array.isArray(s.items)) {
      // draft 2019 and before: items as a tuple, additionalItems for the rest
      if ('prefixItems' in s) unsupported('prefixItems', pointer(ptr, 'prefixItems'), 'beside an items array; use one of them');
      [prefix, prefixPtr] = [s.items, pointer(ptr, 'items')];
      if ('additionalItems' in s) [rest, restPtr] = [s.additionalItems, pointer(ptr, 'additionalItems')];
    } else {
      if ('additionalItems' in s) unsupported('additionalItems', pointer(ptr, 'additionalItems'), 'without an items array it has no effect here; use items');
      if ('prefixItems' in s) [prefix, prefixPtr] = [this.array(s.prefixItems, pointer(ptr, 'prefixItems')), pointer(ptr, 'prefixItems')];
      if ('items' in s) [rest, restPtr] = [s.items, pointer(ptr, 'items')];
    }
    const min = this.count(s, 'minItems', ptr) ?? 0;
    const max = this.count(s, 'maxItems', ptr) ?? Infinity;
    if (min > max) invalid(ptr, `minItems ${min} is above maxItems ${max}`);
    if (rest === false && min > prefix.length) invalid(ptr, `minItems ${min} needs more items than the ${prefix.length} allowed`);
    if (prefix.length === 0 && rest === true && min === 0 && max === Infinity) return this.rules.primitive('array');
    this.rules.primitive('space');
    const items = prefix.map((p, i) => this.rule(p, pointer(prefixPtr, i), `${name}-${i}`, new Set()));
    const restRule = rest === false ? undefined : this.rule(rest, restPtr, `${name}-item`, new Set());
    const element = (i: number, item: string) => (i === 0 ? item : `"," space ${item}`);
    const from = (i: number): string => {
      if (i >= max) return '';
      if (i === prefix.length) {
        if (restRule === undefined) return '';
        const lo = Math.max(0, min - i), hi = max - i;
        return i === 0 ? repetition(restRule, lo, hi, '"," space') : repetition(`("," space ${restRule})`, lo, hi);
      }
      const seq = [element(i, items[i]!), from(i + 1)].filter((x) => x !== '').join(' ');
      return i < min ? seq : `(${seq})?`;
    };
    const inner = from(0);
    return inner === '' ? '"[" space "]"' : `"[" space ${inner} space "]"`;
  }

  /** properties, required and additionalProperties of one object schema. */
  private shape(s: Schema, ptr: string): ObjectShape {
    const props: ObjectShape['props'] = [];
    if ('properties' in s) {
      if (!isSchema(s.properties)) invalid(pointer(ptr, 'properties'), 'properties must be an object');
      for (const [k, v] of Object.entries(s.properties)) props.push({ name: k, schema: v, ptr: pointer(pointer(ptr, 'properties'), k) });
    }
    const required = new Set<string>();
    if ('required' in s) {
      if (!Array.isArray(s.required) || s.required.some((r) => typeof r !== 'string')) invalid(pointer(ptr, 'required'), 'required must be an array of strings');
      for (const r of s.required as string[]) required.add(r);
    }
    let additional: unknown = 'additionalProperties' in s ? s.additionalProperties : !('properties' in s) || (this.options.openObjects ?? false);
    if (typeof additional !== 'boolean' && !isSchema(additional)) invalid(pointer(ptr, 'additionalProperties'), 'additionalProperties must be a boolean or a schema');
    if (isSchema(additional) && Object.keys(additional).length === 0) additional = true;
    return { props, required, additional, additionalPtr: pointer(ptr, 'additionalProperties'), closedByDefault: !('additionalProperties' in s) && additional === false, ptr };
  }

  private object(shape: ObjectShape, name: string): string {
    const { required, additional, ptr } = shape;
    const declared = new Set(shape.props.map((p) => p.name));
    for (const r of required) {
      if (declared.has(r)) continue;
      if (additional === false && shape.closedByDefault !== true) invalid(pointer(ptr, 'required'), `required property "${r}" is neither declared nor allowed by additionalProperties false`);
      unsupported('required', pointer(ptr, 'required'), `property "${r}" is required but not declared in properties; declare it`);
    }
    let props = shape.props.filter((p) => {
      if (p.schema !== false) return true;
      if (required.has(p.name)) invalid(p.ptr, `required property "${p.name}" has the schema false`);
      return false;
    });
    const order = this.options.propertyOrder ?? [];
    if (order.length > 0) {
      const rank = (n: string) => (order.includes(n) ? order.indexOf(n) : order.length);
      props = props.map((p, i) => ({ p, i })).sort((a, b) => rank(a.p.name) - rank(b.p.name) || a.i - b.i).map(({ p }) => p);
    }
    if (props.length === 0 && additional === true) return this.rules.primitive('object');
    this.rules.primitive('space');
    const kvs = props.map((p) => {
      const value = this.rule(p.schema, p.ptr, `${name}-${p.name}`, new Set());
      return { kv: this.rules.add(`${name}-${p.name}-kv`, `${literal(JSON.stringify(p.name))} space ":" space ${value}`), required: required.has(p.name) };
    });
    let extra: string | undefined;
    if (additional !== false) {
      const value = additional === true ? this.rules.primitive('value') : this.rule(additional, shape.additionalPtr, `${name}-additional-value`, new Set());
      const key = props.length === 0 ? this.rules.primitive('string') : this.rules.add(`${name}-additional-k`, this.notStrings(props.map((p) => p.name), ptr));
      extra = this.rules.add(`${name}-additional-kv`, `${key} ":" space ${value}`);
    }
    // rest[i]: what may follow once something is written, from property i on (each item after a comma).
    const rest: string[] = new Array(kvs.length + 1);
    rest[kvs.length] = extra === undefined ? '' : `("," space ${extra})*`;
    for (let i = kvs.length - 1; i >= 0; i--) {
      const next = rest[i + 1] === '' ? '' : ` ${rest[i + 1]}`;
      const own = kvs[i]!.required ? `"," space ${kvs[i]!.kv}` : `("," space ${kvs[i]!.kv})?`;
      rest[i] = i === 0 ? '' : this.rules.add(`${name}-rest-${i}`, `${own}${next}`); // rest[0] follows nothing
    }
    // The first property written is any optional one before the first required, or that required one.
    const firsts: string[] = [];
    let allOptional = true;
    for (let i = 0; i < kvs.length; i++) {
      firsts.push(`${kvs[i]!.kv}${rest[i + 1] === '' ? '' : ` ${rest[i + 1]}`}`);
      if (kvs[i]!.required) {
        allOptional = false;
        break;
      }
    }
    if (allOptional && extra !== undefined) firsts.push(`${extra}${rest[kvs.length] === '' ? '' : ` ${rest[kvs.length]}`}`);
    const first = firsts.length === 1 ? firsts[0]! : `(${firsts.join(' | ')})`;
    return `"{" space ${first}${allOptional ? '?' : ''} space "}"`;
  }

  /** A JSON string that is none of `names` (a key for additionalProperties beside declared ones). */
  private notStrings(names: string[], ptr: string): string {
    for (const n of names) {
      if (/["\\\u0000-\u001f]/.test(n)) unsupported('additionalProperties', pointer(ptr, 'additionalProperties'), `beside the property ${JSON.stringify(n)}, whose name needs escaping in JSON`);
    }
    const char = this.rules.primitive('char');
    interface Trie { children: Map<string, Trie>; end: boolean }
    const trie: Trie = { children: new Map(), end: false };
    for (const n of names) {
      let node = trie;
      for (const ch of n) {
        let next = node.children.get(ch);
        if (next === undefined) node.children.set(ch, (next = { children: new Map(), end: false }));
        node = next;
      }
      node.end = true;
    }
    const classEscape = (ch: string) => (/[\\\]\-^[]/.test(ch) ? `\\${ch}` : ch);
    // After the characters leading to `node`: a declared name's last character needs one more to differ.
    const visit = (node: Trie): string => {
      const alts: string[] = [];
      for (const [ch, child] of node.children) alts.push(`${literal(ch)} ${child.children.size === 0 ? `${char}+` : `(${visit(child)})`}`);
      const others = [...node.children.keys()].map(classEscape).join('');
      if (node.children.size > 0) alts.push(`([^"\\\\\\x00-\\x1F${others}] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4})) ${char}*`);
      if (!node.end && node !== trie) alts.push('""');
      return alts.join(' | ');
    };
    return `"\\"" (${visit(trie)})${trie.end ? '' : '?'} "\\""`;
  }

  private ref(ref: unknown, ptr: string, head: ReadonlySet<string>): string {
    const target = this.resolve(ref, ptr);
    const key = ref as string;
    if (head.has(key)) invalid(ptr, `$ref ${key} refers back to itself before any object or array, which no finite value ends`);
    const known = this.refRules.get(key);
    if (known !== undefined) return known;
    const name = this.rules.reserve(`ref${key.slice(1)}`);
    this.refRules.set(key, name);
    this.rules.set(name, this.body(target, key.slice(1), name, new Set([...head, key])));
    return name;
  }

  /** The schema a local $ref ("#" or "#/json/pointer") names. */
  private resolve(ref: unknown, ptr: string): unknown {
    if (typeof ref !== 'string') invalid(ptr, '$ref must be a string');
    if (!ref.startsWith('#')) unsupported('$ref', ptr, `${ref} is not a reference into this document (only "#/..." is)`);
    if (ref !== '#' && !ref.startsWith('#/')) unsupported('$ref', ptr, `${ref} names an anchor; only JSON pointers ("#/$defs/name") are`);
    let node: unknown = this.root;
    for (const raw of ref === '#' ? [] : ref.slice(2).split('/')) {
      let token: string;
      try {
        token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      } catch {
        invalid(ptr, `$ref ${ref} is not a valid URI fragment`);
      }
      if (Array.isArray(node) && /^\d+$/.test(token) && Number(token) < node.length) node = node[Number(token)];
      else if (isSchema(node) && Object.hasOwn(node, token)) node = node[token];
      else invalid(ptr, `$ref ${ref} does not resolve: no "${token}"`);
    }
    return node;
  }

  /**
   * allOf: object schemas merge into one object with every part's properties and required (closed if any part is; a
   * property in several parts takes the allOf of its schemas); other schemas merge keyword by keyword.
   */
  private allOf(parts: unknown[], ptr: string, name: string, head: ReadonlySet<string>, ptrs: string[]): string {
    const shapes: ObjectShape[] = [];
    const scalars: Array<{ part: Schema; ptr: string }> = [];
    let explicit = false;
    const flatten = (part: unknown, p: string, seen: ReadonlySet<string>): void => {
      if (part === true) return;
      if (part === false) unsupported('false', p, 'the schema false admits no value');
      if (!isSchema(part)) invalid(p, `a schema must be an object or a boolean, not ${jsonType(part)}`);
      const keys = constraining(part);
      if (keys.length === 1 && keys[0] === '$ref') {
        const key = part.$ref as string;
        const target = this.resolve(part.$ref, pointer(p, '$ref'));
        if (seen.has(key)) invalid(pointer(p, '$ref'), `$ref ${key} refers back to itself inside allOf`);
        return flatten(target, key.slice(1), new Set([...seen, key]));
      }
      if (keys.length === 1 && keys[0] === 'allOf') {
        this.array(part.allOf, pointer(p, 'allOf')).forEach((q, i) => flatten(q, pointer(pointer(p, 'allOf'), i), seen));
        return;
      }
      for (const key of Object.keys(part)) {
        if (!KNOWN.has(key) && !(key in VACUOUS && part[key] === VACUOUS[key])) unsupported(key, pointer(p, key), 'this compiler cannot express it in a grammar');
      }
      if (keys.length === 0) return;
      if (!(part.type === 'object' || OBJECT_KEYWORDS.some((k) => k in part))) {
        scalars.push({ part, ptr: p });
        return;
      }
      const foreign = keys.find((k) => k !== 'type' && !OBJECT_KEYWORDS.includes(k));
      if (foreign !== undefined || ('type' in part && part.type !== 'object')) {
        unsupported('allOf', ptr, `the part at ${at(p)} uses ${foreign ?? `type ${JSON.stringify(part.type)}`} beside object keywords; allOf merges object schemas (properties, required, additionalProperties) with each other`);
      }
      // A part's missing additionalProperties is JSON Schema's "anything else"; the merged object decides below.
      shapes.push(this.shape('additionalProperties' in part ? part : { ...part, additionalProperties: true }, p));
      explicit ||= part.additionalProperties === true;
    };
    parts.forEach((part, i) => flatten(part, ptrs[i]!, head));
    if (scalars.length > 0 && shapes.length > 0) {
      unsupported('allOf', ptr, `it mixes object schemas (${at(shapes[0]!.ptr)}) with others (${at(scalars[0]!.ptr)})`);
    }
    if (shapes.length === 0) return this.body(mergeKeywords(scalars, ptr), ptr, name, head);
    const merged: ObjectShape = { props: [], required: new Set(), additional: true, additionalPtr: pointer(ptr, 'additionalProperties'), ptr };
    for (const s of shapes) {
      for (const r of s.required) merged.required.add(r);
      if (s.additional === false) merged.additional = false;
      else if (s.additional !== true) unsupported('additionalProperties', s.additionalPtr, 'a schema for additionalProperties inside allOf');
      for (const p of s.props) {
        const i = merged.props.findIndex((q) => q.name === p.name);
        if (i < 0) merged.props.push(p);
        else if (!sameJson(merged.props[i]!.schema, p.schema)) merged.props[i] = { ...merged.props[i]!, schema: { allOf: [merged.props[i]!.schema, p.schema] } };
      }
    }
    // Read like one object schema: with properties and no word on others, closed unless openObjects.
    if (merged.additional === true && !explicit && merged.props.length > 0) merged.additional = this.options.openObjects ?? false;
    // A property a closed part does not declare cannot appear at all.
    merged.props = merged.props.filter((p) => shapes.every((s) => s.additional !== false || s.props.some((q) => q.name === p.name)));
    for (const r of merged.required) {
      if (!merged.props.some((p) => p.name === r)) {
        if (shapes.some((s) => s.props.some((q) => q.name === r))) invalid(ptr, `allOf requires "${r}", which a part with additionalProperties false forbids`);
      }
    }
    return this.object(merged, name);
  }
}

/** GBNF accepting any JSON object, whitespace as the compiler allows it (OpenAI json_object, Ollama format "json"). */
export const JSON_OBJECT_GBNF: string = jsonSchemaToGbnf({ type: 'object' });
