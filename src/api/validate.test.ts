import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fields, FieldError, FieldPolicy, checkNumber, readUnder, tokenIds } from './validate.ts';
import { isHearthError } from '../util/errors.ts';

const fieldError = (param: string, message: RegExp) => (e: unknown) =>
  e instanceof FieldError && e.param === param && message.test(e.message) && isHearthError(e, 'invalid_argument');

test('Fields reads kinds, treats null as absent, and names nested paths', () => {
  const f = new Fields({ a: 'x', b: 2, c: true, d: null, o: { k: [1, 2] }, s: ['p', 'q'] });
  assert.equal(f.string('a'), 'x');
  assert.equal(f.number('b', { integer: true, min: 1, max: 2 }), 2);
  assert.equal(f.boolean('c'), true);
  assert.equal(f.number('d'), undefined);
  assert.equal(f.string('missing'), undefined);
  assert.deepEqual(f.object('o')!.array('k'), [1, 2]);
  assert.deepEqual(f.stringList('s'), ['p', 'q']);
  assert.throws(() => f.object('o')!.string('k'), fieldError('o.k', /o\.k must be a string; got an array/));
  assert.throws(() => f.number('a'), fieldError('a', /a must be a number; got the string "x"/));
  assert.throws(() => f.boolean('b'), fieldError('b', /b must be true or false; got number 2/));
  assert.throws(() => f.required('zz', (x, k) => x.string(k)), fieldError('zz', /zz is required/));
});

test('number rules: integer, inclusive and exclusive bounds, non-finite', () => {
  assert.throws(() => checkNumber(1.5, 'n', { integer: true }), /n must be an integer; got 1.5/);
  assert.throws(() => checkNumber(0, 'p', { min: 0, minExclusive: true, max: 1 }), /p must be > 0 and <= 1; got 0/);
  assert.throws(() => checkNumber(3, 't', { min: 0, max: 2 }), /t must be <= 2 and >= 0; got 3/);
  assert.throws(() => checkNumber(Infinity, 'x'), /x must be a number/);
  assert.equal(checkNumber(0, 'x', { min: 0 }), 0);
});

test('rejectUnknown names every field nobody read; stringList bounds; token ids', () => {
  const f = new Fields({ model: 'm', temprature: 1, topp: 2, ignored: null });
  f.string('model');
  assert.throws(() => f.rejectUnknown(), fieldError('temprature', /unrecognized field temprature \(and topp\)/));
  assert.throws(() => new Fields({ stop: ['a', 'b', 'c'] }).stringList('stop', 2), /stop has 3 entries; at most 2/);
  assert.throws(() => new Fields({ stop: [1] }).stringList('stop'), /stop must be a string or an array of strings/);
  assert.throws(() => tokenIds([1, -1], 'ctx'), fieldError('ctx[1]', /ctx\[1\] must be >= 0/));
  assert.throws(() => new Fields([1]), fieldError('body', /the request body must be a JSON object; got an array/));
});

test('a registered body reads under its policy: unknown fields are recorded (children too), strict throws', () => {
  const body = { a: 1, extra: true, child: { b: 2, deep: 3 }, list: [{ c: 1, x: 0 }] };
  const policy = new FieldPolicy(false);
  readUnder(body, policy);
  const f = new Fields(body);
  f.number('a');
  const child = f.object('child')!;
  child.number('b');
  child.rejectUnknown();
  for (const item of f.children(f.array('list')!, 'list')) {
    item.number('c');
    item.rejectUnknown();
    item.rejectUnknown();
  }
  f.rejectUnknown();
  assert.deepEqual(policy.ignored, ['child.deep', 'list[0].x', 'extra']);
  // A body nobody registered is strict, as the converters' own tests call them.
  assert.throws(() => new Fields({ extra: 1 }).rejectUnknown(), fieldError('extra', /unrecognized field extra/));
  const strict = { extra: 1 };
  readUnder(strict, new FieldPolicy(true));
  assert.throws(() => new Fields(strict).child({ y: 1 }, 'x').rejectUnknown(), fieldError('x.y', /unrecognized field x\.y/));
  const many = new FieldPolicy(false);
  for (let i = 0; i < FieldPolicy.MAX_LISTED + 3; i++) many.note(`k${i}`);
  assert.equal(many.ignored.length, FieldPolicy.MAX_LISTED + 1);
  assert.equal(many.ignored.at(-1), '(3 more)');
});
