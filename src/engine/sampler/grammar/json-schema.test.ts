import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonSchemaToGbnf, JSON_OBJECT_GBNF } from './json-schema.ts';
import { isHearthError } from '../../../util/errors.ts';

const SPACE = 'space ::= | " " | "\\n"{1,2} [ \\t]{0,20}';
const CHAR = 'char ::= [^"\\\\\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4})';

function gbnf(lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

// The same layouts llama.cpp's tests/test-json-schema-to-grammar.cpp expects for these schemas (its char rule also
// excludes DEL and omits the `\/` escape; this one admits both, as JSON does).
test('golden grammars for small schemas', () => {
  assert.equal(jsonSchemaToGbnf({ items: { type: 'boolean' }, minItems: 2 }), gbnf([
    'boolean ::= ("true" | "false")',
    'root ::= "[" space boolean ("," space boolean)+ space "]"',
    SPACE,
  ]));
  assert.equal(jsonSchemaToGbnf({ type: 'integer', minimum: 1 }), gbnf(['root ::= ([1-9] [0-9]{0,15})']));
  assert.equal(jsonSchemaToGbnf({ type: 'integer', minimum: 0 }), gbnf(['root ::= ([0] | [1-9] [0-9]{0,15})']));
  assert.equal(jsonSchemaToGbnf({ type: 'string', minLength: 1, maxLength: 4 }), gbnf([
    'counted-char ::= [^"\\\\\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" ([0-9a-cA-CefEF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}))',
    'root ::= "\\"" counted-char{1,4} "\\""',
  ]));
  assert.equal(jsonSchemaToGbnf({ type: 'string', pattern: '^\\d{3}-[a-z]+$' }), gbnf(['root ::= "\\"" root-pattern "\\""', 'root-pattern ::= [0-9]{3} "-" [a-z]+']));
  assert.equal(jsonSchemaToGbnf({ enum: ['a', 1, null] }), gbnf(['root ::= ("\\"a\\"" | "1" | "null")']));
  assert.equal(jsonSchemaToGbnf({
    type: 'object', properties: { a: { type: 'string' }, b: { type: 'integer' } }, required: ['a'], additionalProperties: false,
  }), gbnf([
    CHAR,
    'integer ::= ("-"? integral-part)',
    'integral-part ::= [0] | [1-9] [0-9]{0,15}',
    'root ::= "{" space root-a-kv root-rest-1 space "}"',
    'root-a-kv ::= "\\"a\\"" space ":" space string',
    'root-b-kv ::= "\\"b\\"" space ":" space integer',
    'root-rest-1 ::= ("," space root-b-kv)?',
    SPACE,
    'string ::= "\\"" char* "\\""',
  ]));
  assert.equal(jsonSchemaToGbnf({
    $ref: '#/$defs/t', $defs: { t: { type: 'object', properties: { kids: { type: 'array', items: { $ref: '#/$defs/t' } } } } },
  }), gbnf([
    'ref-defs-t ::= "{" space ref-defs-t-kids-kv? space "}"',
    'ref-defs-t-kids ::= "[" space (ref-defs-t ("," space ref-defs-t)*)? space "]"',
    'ref-defs-t-kids-kv ::= "\\"kids\\"" space ":" space ref-defs-t-kids',
    'root ::= ref-defs-t',
    SPACE,
  ]));
});

test('JSON_OBJECT_GBNF is the any-object grammar', () => {
  assert.match(JSON_OBJECT_GBNF, /^root ::= object$/m);
  assert.equal(JSON_OBJECT_GBNF, jsonSchemaToGbnf({ type: 'object' }));
});

test('optional properties keep schema order; propertyOrder puts named ones first', () => {
  const schema = { type: 'object', properties: { a: { type: 'null' }, b: { type: 'null' } }, required: ['b'] };
  assert.match(jsonSchemaToGbnf(schema), /^root ::= "\{" space \(root-a-kv root-rest-1 \| root-b-kv\) space "\}"$/m);
  assert.match(jsonSchemaToGbnf(schema, { propertyOrder: ['b'] }), /^root ::= "\{" space root-b-kv root-rest-1 space "\}"$/m);
});

/** [schema, code, text the message must hold] */
const REFUSED: Array<[unknown, 'unsupported_field' | 'invalid_argument', string]> = [
  [{ type: 'object', properties: { a: { type: 'number', multipleOf: 2 } } }, 'unsupported_field', 'multipleOf at /properties/a/multipleOf is not supported'],
  [{ type: 'array', uniqueItems: true }, 'unsupported_field', 'uniqueItems at /uniqueItems'],
  [{ type: 'object', patternProperties: { '^x': {} } }, 'unsupported_field', 'patternProperties at /patternProperties'],
  [{ if: { type: 'string' }, then: { minLength: 1 } }, 'unsupported_field', 'if at /if'],
  [{ not: { type: 'null' } }, 'unsupported_field', 'not at /not'],
  [{ type: 'object', dependentRequired: { a: ['b'] } }, 'unsupported_field', 'dependentRequired at /dependentRequired'],
  [{ type: 'array', contains: { type: 'null' } }, 'unsupported_field', 'contains at /contains'],
  [{ type: 'object', minProperties: 1 }, 'unsupported_field', 'minProperties at /minProperties'],
  [{ type: 'object', propertyNames: { maxLength: 3 } }, 'unsupported_field', 'propertyNames at /propertyNames'],
  [{ type: 'object', unevaluatedProperties: false }, 'unsupported_field', 'unevaluatedProperties at /unevaluatedProperties'],
  [{ type: 'number', minimum: 0.5 }, 'unsupported_field', 'minimum at /minimum is not supported: 0.5 is not an integer'],
  [{ type: 'number', exclusiveMinimum: 1, maximum: 1 }, 'invalid_argument', 'no number lies between the bounds 1 and 1'],
  [{ type: 'string', format: 'email' }, 'unsupported_field', 'format at /format is not supported: "email"'],
  [{ type: 'string', pattern: '^a(?=b)$' }, 'unsupported_field', 'pattern at /pattern is not supported: the group (?=b'],
  [{ type: 'string', pattern: '^(a)\\1$' }, 'unsupported_field', 'back reference \\1'],
  [{ type: 'string', pattern: '^\\bword$' }, 'unsupported_field', 'word boundary'],
  [{ type: 'string', pattern: '^a$b' }, 'unsupported_field', '$ inside the pattern'],
  [{ type: 'string', pattern: '^a+$', minLength: 2 }, 'unsupported_field', 'minLength at /minLength is not supported: together with pattern'],
  [{ enum: ['a', 'bb'], minLength: 2 }, 'unsupported_field', 'minLength at /minLength is not supported: beside enum'],
  [{ anyOf: [{ type: 'string' }], minLength: 1 }, 'unsupported_field', "anyOf at / is not supported: combined with 'minLength'"],
  [{ type: 'object', properties: { a: {} }, oneOf: [{ type: 'null' }] }, 'unsupported_field', 'allOf at /oneOf/0 is not supported: it mixes object schemas (/) with others (/oneOf/0)'],
  [{ allOf: [{ type: 'object', properties: { a: {} } }, { maxLength: 2 }] }, 'unsupported_field', 'allOf at / is not supported: it mixes object schemas (/allOf/0) with others (/allOf/1)'],
  [{ allOf: [{ properties: { a: { type: 'string' } } }, { properties: { a: { type: 'integer' } } }] }, 'invalid_argument', 'no value has both type "string" and "integer"'],
  [{ allOf: [{ type: 'string', pattern: '^a' }, { pattern: 'b$' }] }, 'unsupported_field', 'pattern at /allOf/1/pattern is not supported: allOf has pattern in more than one part'],
  [{ $ref: 'other.json#/x' }, 'unsupported_field', '$ref at /$ref is not supported: other.json#/x is not a reference into this document'],
  [{ $ref: '#anchor' }, 'unsupported_field', 'names an anchor'],
  [false, 'unsupported_field', 'false at / is not supported'],
  [{ type: 'object', properties: { a: {} }, required: ['b'] }, 'unsupported_field', 'required at /required is not supported: property "b"'],
  [{ minLength: 1, items: {} }, 'unsupported_field', 'keywords of several types without a type'],
  [{ minimum: 1 }, 'unsupported_field', 'minimum at / is not supported: a bound without a type'],
  [{ type: 'object', properties: { 'a"': {} }, additionalProperties: { type: 'null' } }, 'unsupported_field', 'needs escaping'],
  [{ $ref: 3 }, 'invalid_argument', '$ref must be a string at /$ref'],
  [{ $ref: '#/$defs/missing', $defs: {} }, 'invalid_argument', '$ref #/$defs/missing does not resolve: no "missing" at /$ref'],
  [{ type: 'strin' }, 'invalid_argument', 'type "strin" is not one of'],
  [{ type: ['string', 5] }, 'invalid_argument', 'at /type/1'],
  [{ type: 'object', properties: [] }, 'invalid_argument', 'properties must be an object at /properties'],
  [{ type: 'object', required: 'a' }, 'invalid_argument', 'required must be an array of strings at /required'],
  [{ enum: [] }, 'invalid_argument', 'enum must be a non-empty array at /enum'],
  [{ type: 'integer', enum: ['a'] }, 'invalid_argument', 'no value satisfies'],
  [{ type: 'array', minItems: 3, maxItems: 2 }, 'invalid_argument', 'minItems 3 is above maxItems 2'],
  [{ type: 'integer', minimum: 5, maximum: 4 }, 'invalid_argument', 'no integer lies between'],
  [{ type: 'string', maxLength: -1 }, 'invalid_argument', 'maxLength must be a non-negative integer at /maxLength'],
  [{ type: 'string', pattern: '^(a$' }, 'invalid_argument', 'not a valid regular expression: an unclosed ('],
  [{ $ref: '#' }, 'invalid_argument', 'refers back to itself'],
  [{ $defs: { a: { anyOf: [{ $ref: '#/$defs/a' }, { type: 'null' }] } }, $ref: '#/$defs/a' }, 'invalid_argument', 'refers back to itself'],
  [{ type: 'object', properties: { a: { type: 'integer' } }, required: ['z'], additionalProperties: false }, 'invalid_argument', 'required property "z"'],
  [{ type: 'object', properties: { a: false }, required: ['a'] }, 'invalid_argument', 'has the schema false at /properties/a'],
  [5, 'invalid_argument', 'a schema must be an object or a boolean, not integer at /'],
  [{ type: 'array', items: 'x' }, 'invalid_argument', 'at /items'],
];

test('unsupported keywords and malformed schemas throw typed errors naming the keyword and its place', () => {
  for (const [schema, code, text] of REFUSED) {
    assert.throws(() => jsonSchemaToGbnf(schema), (e: unknown) => {
      assert.ok(isHearthError(e, code), `${JSON.stringify(schema)}: expected ${code}, got ${String(e)}`);
      assert.ok(e.message.startsWith('json schema: '), e.message);
      assert.ok(e.message.includes(text), `${JSON.stringify(schema)}: ${e.message} lacks ${text}`);
      return true;
    }, JSON.stringify(schema));
  }
});

test('vacuous values of otherwise refused keywords, and annotations, are accepted', () => {
  for (const schema of [
    { type: 'array', uniqueItems: false }, { type: 'object', minProperties: 0 },
    { type: 'string', title: 't', description: 'd', default: 'x', examples: ['y'], $comment: 'c', deprecated: true, readOnly: true },
  ]) assert.doesNotThrow(() => jsonSchemaToGbnf(schema), JSON.stringify(schema));
});
