// GBNF parsing and matching: llama.cpp's own example grammars (read from the installed node-llama-cpp
// package), strings each must match, stop short of, or reject — checked on the fast automaton and on the
// slow reference matcher alike — and the line/column errors of malformed grammars.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseGbnf, type Grammar } from './parse.ts';
import { GrammarSampler } from './grammar-sampler.ts';
import { ReferenceMatcher } from './reference.ts';
import { isHearthError } from '../../../util/errors.ts';

const GRAMMARS = resolve(import.meta.dirname, '../../../../test/reference/node_modules/node-llama-cpp/llama/grammars');
const grammarText = (name: string): string => readFileSync(resolve(GRAMMARS, name + '.gbnf'), 'utf8');
const NO_VOCAB = { pieces: [], eog: new Set<number>() };

type Verdict = 'complete' | 'prefix' | 'rejected';

function verdict(g: Grammar, text: string | Uint8Array): Verdict {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  const fast = new GrammarSampler(g, NO_VOCAB);
  const fastV: Verdict = !fast.acceptBytes(bytes) ? 'rejected' : fast.complete ? 'complete' : 'prefix';
  const ref = new ReferenceMatcher(g);
  const refV: Verdict = !ref.pushBytes(bytes) ? 'rejected' : ref.complete ? 'complete' : 'prefix';
  assert.equal(fastV, refV, `automaton and reference matcher disagree on ${JSON.stringify(text)}`);
  return fastV;
}

function expectAll(g: Grammar, cases: Record<Verdict, (string | Uint8Array)[]>): void {
  for (const v of ['complete', 'prefix', 'rejected'] as const) {
    for (const t of cases[v]) assert.equal(verdict(g, t), v, JSON.stringify(typeof t === 'string' ? t : [...t]));
  }
}

test('every llama.cpp example grammar parses', () => {
  const names = readdirSync(GRAMMARS).filter((f) => f.endsWith('.gbnf')).map((f) => f.slice(0, -5)).sort();
  for (const want of ['arithmetic', 'c', 'chess', 'english', 'japanese', 'json', 'json_arr', 'list']) assert.ok(names.includes(want), want);
  for (const n of names) {
    const g = parseGbnf(grammarText(n));
    assert.equal(g.names[g.root], 'root', n);
  }
  expectAll(parseGbnf(grammarText('japanese')), { complete: ['ひらがな カタカナ'], prefix: [''], rejected: ['abc'] });
  expectAll(parseGbnf(grammarText('english')), { complete: ['Hello, world!'], prefix: ['Hi '], rejected: ['é'] });
});

test('json.gbnf', () => {
  expectAll(parseGbnf(grammarText('json')), {
    complete: ['{}', '{"a": 1}', '{"a": [1, -2.5, "x", true, null, {"b": "\\u00e9\\n"}]}', '{"é": "😀 ☃"}\n  ', '{ "k" : 0.25e5 }', '{"a": 1}\n'],
    prefix: ['', '{', '{"a": ', '{"a"', '{"a": [1,', '{"a": "x\\u00', '{"é": "\u00e9'.slice(0, -1)],
    rejected: ['[]', '{"a": 01}', '{a: 1}', '{"a": tru}', '{"\x01": 1}', '{"a": 1}}', '{"a": "\\q"}', ' {}'],
  });
});

test('arithmetic.gbnf', () => {
  expectAll(parseGbnf(grammarText('arithmetic')), {
    complete: ['1+2=3\n', '(a +b)*c= x\n', 'x=y\n1=2\n', '( 12 )/ab_c = 3 \n'],
    prefix: ['', '1+2=', '1+2=3', '(a+', 'x=y\n1'],
    rejected: ['=3\n', '1++2=3\n', 'A=1\n', '1=2=3\n', ')'],
  });
});

test('c.gbnf', () => {
  expectAll(parseGbnf(grammarText('c')), {
    complete: ['', 'int main(){return 0;}', 'int f(int x){x = x+1;return x;}float g(){while(a<b){a = a*2;}}',
      'int h(){// note\n/* block * here */}'],
    prefix: ['int main(', 'int main(){', 'float ', 'int main(){if(a==b){'],
    rejected: ['int 1main(){}', 'main(){}', 'int main() {}', 'intmain(){}'],
  });
});

test('chess.gbnf', () => {
  expectAll(parseGbnf(grammarText('chess')), {
    complete: ['1. e4 e5\n2. Nf3 Nc6\n', '1. d4 d5\n2. c4 dxc4\n3. O-O-O Qxd1+\n', '1. e4 e5\n2. e8=Q Kxe8#\n'],
    prefix: ['1. e4 e5\n', '1. e4', '1. ', '1. e4 e5\n12'],
    rejected: ['2. e4 e5\n', '1. e9', '1. e4  e5\n', '1.e4'],
  });
});

test('list.gbnf', () => {
  expectAll(parseGbnf(grammarText('list')), {
    complete: ['- a\n', '- a\n- b c\n', '- ünïcödé\n'],
    prefix: ['', '- a', '- ', '-'],
    rejected: ['* a\n', '- \n', '- a\r\n', '- a\u2028'],
  });
});

test('repetition counts, classes, escapes and any-char', () => {
  expectAll(parseGbnf('root ::= "a"{2,3}'), { complete: ['aa', 'aaa'], prefix: ['', 'a'], rejected: ['aaaa', 'b'] });
  expectAll(parseGbnf('root ::= "ab"{2}'), { complete: ['abab'], prefix: ['aba'], rejected: ['ababa'] });
  expectAll(parseGbnf('root ::= [0-9]{2,} "x"?'), { complete: ['12', '123', '12x'], prefix: ['1'], rejected: ['1x', '12xx'] });
  expectAll(parseGbnf('root ::= ("a" | "b")+ "."'), { complete: ['ab.', 'a.'], prefix: ['abba'], rejected: ['.', 'c'] });
  expectAll(parseGbnf('root ::= [\\x41-\\x43\\u00e9\\]\\-] [^a-z\\n]'), {
    complete: ['AZ', 'éé', ']!', '-😀', 'C\u00ff'], prefix: ['B'], rejected: ['Da', 'Aa', 'A\n'],
  });
  expectAll(parseGbnf('root ::= . . "\\U0001F600" "\\t"'), { complete: ['x☃😀\t'], prefix: ['xy😀'], rejected: ['xy😁'] });
  const e = parseGbnf('root ::= "é"');
  expectAll(e, { complete: [Uint8Array.of(0xc3, 0xa9)], prefix: [Uint8Array.of(0xc3)], rejected: [Uint8Array.of(0xc3, 0x80), Uint8Array.of(0xa9), Uint8Array.of(0xc4)] });
  // Invalid UTF-8 never matches, not even `.`: overlong forms, stray continuation bytes, 0xF8+.
  expectAll(parseGbnf('root ::= .*'), {
    complete: ['', 'any ☃ text'], prefix: [Uint8Array.of(0xe2, 0x98)],
    rejected: [Uint8Array.of(0xc0, 0x80), Uint8Array.of(0x80), Uint8Array.of(0xf8), Uint8Array.of(0xe2, 0x41)],
  });
  // Comments, blank lines, newlines inside groups and after | or ::=.
  expectAll(parseGbnf('# lead\n\nroot ::= # c\n  a (\n  "x" |\n  "y"\n) # t\na ::= "-"\n'), { complete: ['-x', '-y'], prefix: ['-'], rejected: ['x'] });
  // Another start rule.
  expectAll(parseGbnf('root ::= "r"\nalt ::= "a"', 'alt'), { complete: ['a'], prefix: [], rejected: ['r'] });
});

test('complete and done', () => {
  const g = parseGbnf('root ::= "a" "b"?');
  const s = new GrammarSampler(g, NO_VOCAB);
  assert.equal(s.complete, false);
  assert.equal(s.done, false);
  s.acceptBytes(Uint8Array.of(97));
  assert.equal(s.complete, true);
  assert.equal(s.done, false);
  const c = s.clone();
  c.acceptBytes(Uint8Array.of(98));
  assert.equal(c.done, true);
  assert.equal(s.done, false, 'a clone advances on its own');
});

function parseError(text: string, root?: string): string {
  try {
    parseGbnf(text, root);
  } catch (e) {
    assert.ok(isHearthError(e, 'invalid_argument'), String(e));
    return e.message;
  }
  assert.fail(`grammar parsed: ${JSON.stringify(text)}`);
}

test('malformed grammars name the line and column', () => {
  const cases: [string, RegExp][] = [
    ['root ::= foo', /^grammar: line 1, column 10: undefined rule "foo"$/],
    ['root ::= valeu\nvalue ::= "x"', /^grammar: line 1, column 10: undefined rule "valeu" \(did you mean "value"\?\)$/],
    ['root ::= "abc', /^grammar: line 1, column 10: unterminated literal/],
    ['root ::= [abc', /^grammar: line 1, column 10: unterminated character class/],
    ['root ::= expr\nexpr ::= expr "+" term | term\nterm ::= [0-9]', /^grammar: line 2, column 1: rule "expr" is left-recursive \(expr → expr/],
    ['root ::= a\na ::= b "x"\nb ::= "y"? a', /^grammar: line 2, column 1: rule "a" is left-recursive \(a → b → a/],
    ['root ::= ("a"?)*', /^grammar: line 1, column 16: this repetition repeats something that can match the empty string/],
    ['root ::= "a" )', /^grammar: line 1, column 14: unexpected \) with no group open$/],
    ['root ::= ( "a"\n', /^grammar: line 2, column 1: expected \) to close the group opened at line 1, column 10$/],
    ['root := "a"', /^grammar: line 1, column 6: expected ::= after the rule name "root"$/],
    ['root ::= "\\q"', /^grammar: line 1, column 11: unknown escape \\q/],
    ['root ::= "\\x4"', /^grammar: line 1, column 11: \\x needs exactly 2 hex digits$/],
    ['root ::= "a"{3,1}', /^grammar: line 1, column 13: \{3,1\}: the maximum is below the minimum$/],
    ['root ::= "a"{2', /^grammar: line 1, column 15: expected \} to close the repetition/],
    ['root ::= "a"{5000}', /^grammar: line 1, column 13: repetition counts above 2000/],
    ['root ::= * "a"', /^grammar: line 1, column 10: \* must follow something to repeat/],
    ['root ::= [z-a]', /^grammar: line 1, column 12: character range z-a is reversed$/],
    ['root ::= "a"\n  | "b"', /^grammar: line 2, column 3: an alternative \| continues a rule only on the same line/],
    ['root ::= "a"\nroot ::= "b"', /^grammar: line 2, column 1: rule "root" is defined twice \(first at line 1, column 1\)$/],
    ['root ::= <[12]>', /^grammar: line 1, column 10: token references .* are not supported/],
    ['root ::= "a" @', /^grammar: line 1, column 14: unexpected "@"/],
    ['a ::= "x"', /^grammar: no rule named "root", the start rule; define root ::= … \(defined: a\)$/],
    ['', /^grammar: the grammar has no rules/],
  ];
  for (const [text, re] of cases) assert.match(parseError(text), re, JSON.stringify(text));
});
