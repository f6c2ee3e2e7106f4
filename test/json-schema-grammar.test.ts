// The JSON-Schema compiler's grammars checked by llama.cpp itself (test/reference/gbnf-check.ts): every grammar must
// parse, every valid instance (compact and pretty-printed) must match, every invalid text must not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { jsonSchemaToGbnf, JSON_OBJECT_GBNF, type JsonSchemaGbnfOptions } from '../src/engine/sampler/index.ts';
import { referenceUnavailableReason } from './reference/client.ts';
import type { GbnfCheckRequest, GbnfCheckResponse } from './reference/gbnf-check.ts';
import { randomInstance, randomSchema } from './fixtures/json-schemas.ts';
import { GbnfSampler } from './fixtures/gbnf-sample.ts';
import { SeededRandom } from './fixtures/seeded-random.ts';
import { REPO_ROOT } from './shared.ts';

interface Case {
  name: string;
  schema: unknown;
  options?: JsonSchemaGbnfOptions;
  /** Values the schema admits; each is tried compact and pretty-printed. */
  valid: unknown[];
  /** JSON texts the grammar must refuse. */
  invalid: string[];
}

const CASES: Case[] = [
  { name: 'string', schema: { type: 'string' }, valid: ['', 'a"b\\c\n', 'é☃😀'], invalid: ['"a', '1', '"\u0001"'] },
  { name: 'number', schema: { type: 'number' }, valid: [0, -1.5, 3e10, 12.25], invalid: ['01', '1.', '"1"', '+1'] },
  { name: 'integer', schema: { type: 'integer' }, valid: [0, -7, 123456], invalid: ['1.5', '01', '1e3'] },
  { name: 'boolean and null', schema: { type: ['boolean', 'null'] }, valid: [true, false, null], invalid: ['0', '"true"'] },
  { name: 'any value', schema: {}, valid: [1, 'x', [1, { a: null }], { b: [true] }], invalid: ['', 'nul'] },
  { name: 'enum', schema: { enum: ['red', 2, null, { a: 1 }] }, valid: ['red', 2, null, { a: 1 }], invalid: ['"blue"', '3'] },
  { name: 'enum filtered by type', schema: { type: 'string', enum: ['a', 1] }, valid: ['a'], invalid: ['1'] },
  { name: 'const', schema: { const: 'x"y' }, valid: ['x"y'], invalid: ['"xy"'] },
  {
    name: 'object required and optional in schema order',
    schema: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' }, c: { type: 'boolean' } }, required: ['b'], additionalProperties: false },
    valid: [{ b: 'x' }, { a: 1, b: 'x' }, { b: 'x', c: true }, { a: 1, b: '', c: false }],
    invalid: ['{}', '{"a":1}', '{"b":"x","a":1}', '{"b":"x","d":1}', '{"b":"x",}'],
  },
  {
    name: 'object all optional',
    schema: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } } },
    valid: [{}, { a: 1 }, { b: 2 }, { a: 1, b: 2 }],
    invalid: ['{"b":2,"a":1}', '{,}', '{"c":1}'],
  },
  {
    name: 'additionalProperties schema beside properties',
    schema: { type: 'object', properties: { a: { type: 'integer' } }, additionalProperties: { type: 'string' } },
    valid: [{}, { a: 1 }, { a: 1, x: 's', ab: 't' }, { x: 's' }, { '': 'e' }],
    invalid: ['{"x":1}', '{"a":"s"}'],
  },
  { name: 'any object', schema: { type: 'object' }, valid: [{}, { a: [1, { b: null }] }], invalid: ['[]', '{"a"}'] },
  { name: 'additionalProperties true', schema: { type: 'object', properties: { a: { type: 'null' } }, additionalProperties: true }, valid: [{ a: null, b: 1 }, { c: [] }], invalid: ['{"a":1}'] },
  {
    name: 'open objects option',
    schema: { type: 'object', properties: { a: { type: 'null' } } },
    options: { openObjects: true },
    valid: [{ a: null, z: 1 }],
    invalid: ['{"a":1}'],
  },
  {
    name: 'array items and bounds',
    schema: { type: 'array', items: { type: 'integer' }, minItems: 1, maxItems: 3 },
    valid: [[1], [1, 2, 3]],
    invalid: ['[]', '[1,2,3,4]', '["a"]', '[1,]'],
  },
  {
    name: 'prefixItems with items false',
    schema: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }], items: false },
    valid: [[], ['a'], ['a', 1]],
    invalid: ['[1]', '["a",1,2]'],
  },
  {
    name: 'prefixItems then items',
    schema: { type: 'array', prefixItems: [{ type: 'string' }], items: { type: 'null' }, minItems: 2 },
    valid: [['a', null], ['a', null, null]],
    invalid: ['["a"]', '["a",1]', '[null,null]'],
  },
  { name: 'string length', schema: { type: 'string', minLength: 2, maxLength: 3 }, valid: ['ab', 'a\\c', '\n\t', '😀😀'], invalid: ['"a"', '"abcd"', '"\\ud83d\\ude00"', '"\\u00e9\\u00e9\\u00e9\\u00e9"'] },
  {
    name: 'pattern',
    schema: { type: 'string', pattern: '^(\\+\\d{1,3} )?[A-Z][a-z]*(-[a-z]+)*\\.?$' },
    valid: ['Ab', '+44 Xyz-ab-cd.', 'Q'],
    invalid: ['"ab"', '"Ab-"', '"+1234 Ab"'],
  },
  { name: 'pattern unanchored', schema: { type: 'string', pattern: 'ab' }, valid: ['ab', 'xaby', 'ab"'], invalid: ['"a"', '"ba"'] },
  { name: 'pattern alternation with anchors', schema: { type: 'string', pattern: '^a|b$' }, valid: ['a', 'ax', 'xb', 'b'], invalid: ['"xa"', '"bx"'] },
  { name: 'pattern classes, escapes and dot', schema: { type: 'string', pattern: '^[^a-c]\\w\\s\\x41.[\\]\\-]"\\\\$' }, valid: ['d_ A!]"\\', '"0\tA\u00e9-"\\', '\\0\nA ]"\\'], invalid: ['"a_ A!]\\"\\\\"', '"d_ A\\n]\\"\\\\"'] },
  { name: 'pattern dotall', schema: { type: 'string', pattern: '^.$' }, options: { dotall: true }, valid: ['\n', 'x'], invalid: ['"xy"'] },
  { name: 'format date', schema: { type: 'string', format: 'date' }, valid: ['2024-01-31', '2023-02-28', '1999-11-30'], invalid: ['"2024-13-01"', '"2024-02-30"', '"2024-04-31"'] },
  { name: 'format time', schema: { type: 'string', format: 'time' }, valid: ['23:59:59Z', '00:00:00.123+05:30'], invalid: ['"24:00:00Z"', '"12:00"'] },
  { name: 'format date-time', schema: { type: 'string', format: 'date-time' }, valid: ['2024-06-01T12:30:00Z'], invalid: ['"2024-06-01 12:30:00Z"'] },
  { name: 'format uuid', schema: { type: 'string', format: 'uuid' }, valid: ['123e4567-e89b-12d3-a456-426614174000'], invalid: ['"123e4567e89b12d3a456426614174000"'] },
  {
    name: 'anyOf and oneOf',
    schema: { type: 'object', properties: { x: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'integer' } }] }, y: { oneOf: [{ const: 1 }, { const: 'one' }] } }, required: ['x', 'y'] },
    valid: [{ x: 's', y: 1 }, { x: [1, 2], y: 'one' }],
    invalid: ['{"x":1,"y":1}', '{"x":"s","y":2}'],
  },
  {
    name: 'object keywords beside anyOf hold in each alternative',
    schema: {
      type: 'object', properties: { kind: { enum: ['a', 'b'] } }, required: ['kind'],
      anyOf: [{ properties: { a: { type: 'integer' } }, required: ['a'] }, { properties: { b: { type: 'string' } }, required: ['b'] }],
    },
    valid: [{ kind: 'a', a: 1 }, { kind: 'b', b: 'x' }],
    invalid: ['{"kind":"a"}', '{"a":1}', '{"kind":"c","a":1}'],
  },
  {
    name: 'allOf merges objects',
    schema: {
      $defs: { base: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] } },
      allOf: [{ $ref: '#/$defs/base' }, { properties: { name: { type: 'string' } } }],
    },
    valid: [{ id: 1 }, { id: 1, name: 'n' }],
    invalid: ['{"name":"n"}', '{"id":1,"x":2}'],
  },
  {
    name: 'allOf merges keywords of other schemas and the schemas of a property in several parts',
    schema: {
      type: 'object',
      allOf: [{ properties: { n: { type: 'integer', minimum: 0 } }, required: ['n'] }, { properties: { n: { maximum: 10 }, s: { allOf: [{ type: 'string' }, { maxLength: 2 }] } } }],
    },
    valid: [{ n: 0 }, { n: 10, s: 'ab' }],
    invalid: ['{"n":11}', '{"n":-1}', '{"n":1,"s":"abc"}', '{"s":"a"}'],
  },
  {
    name: 'recursive $ref',
    schema: {
      $ref: '#/definitions/node',
      definitions: { node: { type: 'object', properties: { value: { type: 'integer' }, children: { type: 'array', items: { $ref: '#/definitions/node' } } }, required: ['value'], additionalProperties: false } },
    },
    valid: [{ value: 1 }, { value: 1, children: [{ value: 2, children: [] }, { value: 3 }] }],
    invalid: ['{"value":1,"children":[{}]}'],
  },
  { name: 'root $ref', schema: { type: 'array', items: { $ref: '#' }, maxItems: 2 }, valid: [[], [[], [[]]]], invalid: ['[1]', '[[],[],[]]'] },
  { name: 'annotations are ignored', schema: { title: 't', description: 'd', $schema: 'https://json-schema.org/draft/2020-12/schema', $id: 'https://example.com/annotated', default: 1, examples: [1], type: 'integer' }, valid: [5], invalid: ['"5"'] },
  { name: 'property names that need escaping', schema: { type: 'object', properties: { 'a"b': { type: 'integer' }, 'c\\d': { type: 'null' } }, required: ['a"b', 'c\\d'] }, valid: [{ 'a"b': 1, 'c\\d': null }], invalid: ['{"ab":1,"cd":null}'] },
  { name: 'JSON_OBJECT_GBNF', schema: undefined, valid: [{}, { a: [1, 'x', { b: null }] }], invalid: ['[]', '1', '"x"'] },
];

/** Integer bounds checked over a window of values against what the bounds admit. */
const BOUNDS: Array<{ min?: number; max?: number; exclusiveMin?: number; exclusiveMax?: number }> = [
  { min: 0 }, { min: 1 }, { min: 7 }, { min: 10 }, { min: 37 }, { min: 100 }, { min: 451 }, { min: -1 }, { min: -42 },
  { max: 0 }, { max: -1 }, { max: 9 }, { max: 37 }, { max: 100 }, { max: -42 }, { max: 999 },
  { min: -5, max: 5 }, { min: 3, max: 3 }, { min: -300, max: -17 }, { min: 0, max: 1000 }, { min: 19, max: 1234 },
  { min: 95, max: 105 }, { min: 200, max: 299 }, { exclusiveMin: 0.5, exclusiveMax: 10 }, { min: 1.2, max: 8.9 },
];

/** ajv (2020-12 draft, with ajv-formats) when it can be loaded: it comes with fastify, not as a dependency of its own. */
type Validate = (schema: unknown, value: unknown) => boolean;
let validate: Validate | undefined;
try {
  const { default: Ajv2020 } = (await import('ajv/dist/2020.js')) as unknown as { default: new (o: object) => { validate: Validate } };
  const { default: addFormats } = (await import('ajv-formats')) as unknown as { default: (ajv: unknown) => void };
  const ajv = new Ajv2020({ strict: false });
  addFormats(ajv);
  validate = (schema, value) => ajv.validate(schema as object, value);
} catch {
  validate = undefined;
}

function checkWithLlama(req: GbnfCheckRequest): GbnfCheckResponse {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'test', 'reference', 'gbnf-check.ts')], { input: JSON.stringify(req), encoding: 'utf8', maxBuffer: 1 << 28, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`gbnf-check exited with ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as GbnfCheckResponse;
}

function skipReason(): string | undefined {
  const reason = referenceUnavailableReason();
  if (reason === null) return undefined;
  if (process.env.HEARTH_REQUIRE_REFERENCE === '1') throw new Error(`llama.cpp reference unavailable: ${reason}`);
  return `llama.cpp reference unavailable: ${reason}`;
}

test('llama.cpp parses every grammar; valid instances match and invalid texts do not', { skip: skipReason() }, () => {
  const grammars = CASES.map((c) => (c.schema === undefined ? JSON_OBJECT_GBNF : jsonSchemaToGbnf(c.schema, c.options)));
  const texts = CASES.map((c) => [...c.valid.flatMap((v) => [JSON.stringify(v), JSON.stringify(v, null, 2)]), ...c.invalid]);
  const res = checkWithLlama({ cases: CASES.map((_, i) => ({ grammar: grammars[i]!, texts: texts[i]! })) });
  const failures: string[] = [];
  // The valid instances are valid for ajv too (the invalid texts may be valid JSON Schema values the grammar narrows
  // away; dotall is not JSON Schema's reading of '.').
  if (validate !== undefined) {
    for (const c of CASES.filter((x) => x.options?.dotall !== true)) for (const v of c.valid) if (!validate(c.schema ?? { type: 'object' }, v)) failures.push(`${c.name}: ajv rejects ${JSON.stringify(v)}`);
  }
  CASES.forEach((c, i) => {
    const r = res.results[i]!;
    if (!r.parsed) {
      failures.push(`${c.name}: llama.cpp refused the grammar (${r.error})\n${grammars[i]}`);
      return;
    }
    const nValid = c.valid.length * 2;
    texts[i]!.forEach((t, j) => {
      if (r.matches[j] !== j < nValid) failures.push(`${c.name}: ${JSON.stringify(t)} should ${j < nValid ? '' : 'not '}match\n${grammars[i]}`);
    });
  });
  assert.deepEqual(failures, []);
});

test('integer minimum/maximum admit exactly the integers between the bounds', { skip: skipReason() }, () => {
  const window: number[] = [];
  for (let v = -1100; v <= 1300; v++) window.push(v);
  const schemas = BOUNDS.map((b) => ({
    type: 'integer', ...(b.min !== undefined && { minimum: b.min }), ...(b.max !== undefined && { maximum: b.max }),
    ...(b.exclusiveMin !== undefined && { exclusiveMinimum: b.exclusiveMin }), ...(b.exclusiveMax !== undefined && { exclusiveMaximum: b.exclusiveMax }),
  }));
  const res = checkWithLlama({ cases: schemas.map((s) => ({ grammar: jsonSchemaToGbnf(s), texts: [...window.map(String), '-0', '01', '1.0'] })) });
  schemas.forEach((s, i) => {
    const r = res.results[i]!;
    assert.ok(r.parsed, `${JSON.stringify(s)}: ${r.error}`);
    const wrong = window.filter((v, j) => {
      const ok = (s.minimum === undefined || v >= s.minimum) && (s.maximum === undefined || v <= s.maximum)
        && (s.exclusiveMinimum === undefined || v > s.exclusiveMinimum) && (s.exclusiveMaximum === undefined || v < s.exclusiveMaximum);
      return r.matches[j] !== ok;
    });
    assert.deepEqual(wrong, [], `${JSON.stringify(s)} → ${jsonSchemaToGbnf(s)}`);
    assert.deepEqual(r.matches.slice(window.length), [false, false, false], `${JSON.stringify(s)}: -0, 01, 1.0`);
  });
});

test('number minimum/maximum (integer bounds, inclusive or exclusive) admit exactly the decimals between them', { skip: skipReason() }, () => {
  const texts: string[] = [];
  for (let q = -60; q <= 60; q++) {
    const v = q / 4;
    texts.push(String(v));
    if (Number.isInteger(v)) texts.push(`${v}.0`, `${v}.00`);
    else texts.push(`${v}0`);
  }
  const bounds: Array<Record<string, number>> = [
    { minimum: 0, maximum: 1 }, { minimum: -1, maximum: 1 }, { exclusiveMinimum: 0 }, { exclusiveMaximum: 0 }, { minimum: 0 }, { maximum: 0 },
    { minimum: -3, exclusiveMaximum: -1 }, { exclusiveMinimum: -10, exclusiveMaximum: 10 }, { minimum: 2, maximum: 2 }, { minimum: 3, maximum: 12 },
    { exclusiveMinimum: 1, exclusiveMaximum: 2 }, { minimum: -12, maximum: -5 }, { maximum: -2 }, { minimum: 5, exclusiveMinimum: 5 },
  ];
  const schemas = bounds.map((b) => ({ type: 'number', ...b }));
  const res = checkWithLlama({ cases: schemas.map((s) => ({ grammar: jsonSchemaToGbnf(s), texts: [...texts, '1e1', '-0'] })) });
  schemas.forEach((s, i) => {
    const r = res.results[i]!;
    assert.ok(r.parsed, `${JSON.stringify(s)}: ${r.error}`);
    const wrong = texts.filter((t, j) => {
      const v = Number(t);
      const b = bounds[i]!;
      const ok = (b.minimum === undefined || v >= b.minimum) && (b.maximum === undefined || v <= b.maximum)
        && (b.exclusiveMinimum === undefined || v > b.exclusiveMinimum) && (b.exclusiveMaximum === undefined || v < b.exclusiveMaximum);
      return r.matches[j] !== ok;
    });
    assert.deepEqual(wrong, [], `${JSON.stringify(s)} → ${jsonSchemaToGbnf(s)}`);
    assert.equal(r.matches[texts.length], false, `${JSON.stringify(s)}: a bounded number is written without exponent`);
  });
});

test('random schemas from the fixture generator: grammars parse and their random instances match', { skip: skipReason() }, () => {
  const rng = new SeededRandom(20261204);
  const cases: GbnfCheckRequest['cases'] = [];
  const schemas: unknown[] = [];
  for (let i = 0; i < 100; i++) {
    const schema = randomSchema(rng, 3);
    schemas.push(schema);
    const instances = Array.from({ length: 4 }, () => randomInstance(schema, rng));
    // The fixture's own promise: its instances are valid.
    if (validate !== undefined) for (const v of instances) assert.ok(validate(schema, v), `ajv rejects ${JSON.stringify(v)} for ${JSON.stringify(schema)}`);
    cases.push({ grammar: jsonSchemaToGbnf(schema), texts: instances.flatMap((v) => [JSON.stringify(v), JSON.stringify(v, null, 2)]) });
  }
  // The generator reaches every feature the compiler supports.
  const seen = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        seen.add(k);
        if (k === 'type' && Array.isArray(x)) seen.add('type array');
        if (k === 'format') seen.add(`format ${String(x)}`);
        if (k === 'additionalProperties') seen.add(`additionalProperties ${typeof x === 'boolean' ? String(x) : 'schema'}`);
        if (k === '$ref' && x === '#/$defs/node') seen.add('recursive $ref');
        walk(x);
      }
    }
  };
  schemas.forEach(walk);
  const features = ['type', 'type array', 'enum', 'const', 'properties', 'required', 'additionalProperties false', 'additionalProperties true',
    'additionalProperties schema', 'items', 'prefixItems', 'minItems', 'maxItems', 'minLength', 'maxLength', 'pattern', 'format date',
    'format time', 'format date-time', 'format uuid', 'minimum', 'maximum', 'exclusiveMinimum', 'anyOf', 'oneOf', 'allOf', '$ref', '$defs', 'recursive $ref', 'description'];
  assert.deepEqual(features.filter((f) => !seen.has(f)), [], 'features the random schemas never used');
  const res = checkWithLlama({ cases });
  const failures: string[] = [];
  res.results.forEach((r, i) => {
    if (!r.parsed) failures.push(`schema ${JSON.stringify(schemas[i])}: llama.cpp refused the grammar (${r.error})`);
    else r.matches.forEach((m, j) => { if (!m) failures.push(`schema ${JSON.stringify(schemas[i])}: ${cases[i]!.texts[j]} should match\n${cases[i]!.grammar}`); });
  });
  assert.deepEqual(failures.slice(0, 3), []);
});

test('soundness: texts sampled from the grammars are JSON that ajv finds valid, and llama.cpp accepts them', { skip: skipReason() ?? (validate === undefined ? 'ajv is not installed (it comes with fastify)' : undefined) }, () => {
  const rng = new SeededRandom(7);
  const schemas: unknown[] = [...CASES.filter((c) => c.schema !== undefined && c.options?.dotall !== true).map((c) => c.schema)];
  for (let i = 0; i < 150; i++) schemas.push(randomSchema(rng, 1 + rng.int(4)));
  const cases = schemas.map((schema) => {
    const grammar = jsonSchemaToGbnf(schema);
    const sampler = new GbnfSampler(grammar);
    return { grammar, texts: Array.from({ length: 5 }, () => sampler.sample(rng)) };
  });
  const failures: string[] = [];
  cases.forEach((c, i) => {
    for (const t of c.texts) {
      let v: unknown;
      try {
        v = JSON.parse(t);
      } catch {
        failures.push(`not JSON: ${JSON.stringify(t)} from ${JSON.stringify(schemas[i])}`);
        continue;
      }
      if (!validate!(schemas[i], v)) failures.push(`ajv rejects ${t} for ${JSON.stringify(schemas[i])}`);
    }
  });
  // The sampler reads the grammar as llama.cpp does.
  checkWithLlama({ cases }).results.forEach((r, i) => r.matches.forEach((m, j) => { if (!m) failures.push(`llama.cpp rejects the sample ${JSON.stringify(cases[i]!.texts[j])}`); }));
  assert.deepEqual(failures.slice(0, 5), []);
});
