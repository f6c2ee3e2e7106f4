// Every GGUF value type through write → read, the 64-bit number/bigint convention, typed getters and setters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHearthError } from '../util/errors.ts';
import { parseGGUF, serializeGGUF, GGUFMetadata, ggufArray, GGUFValueType as V, type GGUFValue } from './index.ts';

function roundTrip(meta: ReadonlyMap<string, GGUFValue>): GGUFMetadata {
  return parseGGUF(serializeGGUF({ metadata: meta }), 'values.gguf').metadata;
}

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function everyType(): GGUFMetadata {
  return new GGUFMetadata()
    .u8('u8', 255).i8('i8', -128).u16('u16', 65535).i16('i16', -32768)
    .u32('u32', 0xffffffff).i32('i32', -0x80000000).f32('f32', Math.fround(3.14159)).f64('f64', Math.PI)
    .u64('u64.max', U64_MAX).u64('u64.safe', Number.MAX_SAFE_INTEGER).u64('u64.2^53', 2n ** 53n).u64('u64.zero', 0)
    .i64('i64.min', I64_MIN).i64('i64.max', I64_MAX).i64('i64.neg', -5)
    .bool('bool.t', true).bool('bool.f', false)
    .string('str.empty', '').string('str.unicode', 'naïve 日本語 🦙 \u0000 end')
    .string('ключ.名前.🔑', 'unicode key')
    .u8s('a.u8', [0, 255]).i8s('a.i8', [-128, 127]).u16s('a.u16', [65535]).i16s('a.i16', [-32768, 1])
    .u32s('a.u32', [0xffffffff, 0]).i32s('a.i32', [-1, 2147483647]).f32s('a.f32', [1.5, -0, Infinity])
    .f64s('a.f64', [Math.E, NaN]).u64s('a.u64', [0, U64_MAX]).i64s('a.i64', [I64_MIN, I64_MAX, -1])
    .bools('a.bool', [true, false, true]).strings('a.str', ['', 'x', '\uFFFD', '\uFEFFbom'])
    .u32s('a.empty.u32', []).strings('a.empty.str', []).bools('a.empty.bool', [])
    .arrays('a.nested', [
      ggufArray(V.INT32, [1, 2, 3]),
      ggufArray(V.STRING, []),
      ggufArray(V.ARRAY, [ggufArray(V.STRING, ['deep']), ggufArray(V.FLOAT64, [])]),
    ])
    .arrays('a.empty.arrays', []);
}

test('every value type survives write → read with its type and value', () => {
  const meta = everyType();
  const back = roundTrip(meta);
  assert.deepEqual([...back], [...meta]);
  // Writing what was read gives the same bytes again.
  assert.deepEqual(serializeGGUF({ metadata: back }), serializeGGUF({ metadata: meta }));
  assert.ok(back.getNumbers('a.f32') instanceof Float32Array);
  assert.ok(Object.is(back.getNumbers('a.f32')[1], -0));
  assert.ok(Number.isNaN(back.getNumbers('a.f64')[1]));
  assert.ok(back.getArray('a.u64').value instanceof BigUint64Array);
  assert.deepEqual(back.getArray('a.empty.arrays'), { type: V.ARRAY, itemType: V.ARRAY, value: [] });
  assert.equal(back.getString('str.unicode'), 'naïve 日本語 🦙 \u0000 end');
  assert.equal(back.getString('ключ.名前.🔑'), 'unicode key');
});

test('64-bit scalars: numbers while safe, bigints beyond; encoded two\'s complement little-endian', () => {
  const back = roundTrip(everyType());
  assert.equal(back.get('u64.safe')?.value, Number.MAX_SAFE_INTEGER);
  assert.equal(back.get('u64.2^53')?.value, 2n ** 53n);
  assert.equal(back.get('u64.max')?.value, U64_MAX);
  assert.equal(back.get('i64.min')?.value, I64_MIN);
  assert.equal(back.get('i64.max')?.value, I64_MAX);
  assert.equal(back.get('i64.neg')?.value, -5);
  assert.equal(back.get('u64.zero')?.value, 0);
  // Setters apply the same convention, so a written-then-read map compares equal.
  assert.equal(new GGUFMetadata().u64('k', 7n).get('k')?.value, 7);

  const one = serializeGGUF({ metadata: new GGUFMetadata().i64('k', I64_MIN) });
  // header 24 + key (8 + 1) + type 4 = 37: the value's 8 bytes follow.
  assert.deepEqual([...one.subarray(37, 45)], [0, 0, 0, 0, 0, 0, 0, 0x80]);
  const two = serializeGGUF({ metadata: new GGUFMetadata().u64('k', U64_MAX) });
  assert.deepEqual([...two.subarray(37, 45)], [255, 255, 255, 255, 255, 255, 255, 255]);
  assert.equal(two.length, 45);
});

test('getters: values of the right type, fallbacks when absent, model_invalid naming key and file', () => {
  const m = roundTrip(everyType());
  assert.equal(m.getNumber('u8'), 255);
  assert.equal(m.getNumber('f64'), Math.PI);
  assert.equal(m.getNumber('i64.neg'), -5);
  assert.equal(m.getBool('bool.f'), false);
  assert.deepEqual(m.getStrings('a.str'), ['', 'x', '\uFFFD', '\uFEFFbom']);
  const small = new GGUFMetadata().i64s('x', [-1n, Number.MAX_SAFE_INTEGER]).getNumbers('x');
  assert.ok(small instanceof Float64Array);
  assert.deepEqual(Array.from(small), [-1, Number.MAX_SAFE_INTEGER]);
  assert.equal(m.getNumber('missing', 42), 42);
  assert.equal(m.getString('missing', undefined), undefined);
  assert.equal(m.getBool('missing', true), true);
  assert.equal(m.getArray('missing', null), null);

  const fails = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(fn, (e) => isHearthError(e, 'model_invalid') && pattern.test(e.message) && e.message.includes('values.gguf'));
  fails(() => m.getString('u32'), /"u32" is UINT32, expected a string/);
  fails(() => m.getNumber('str.empty'), /"str.empty" is STRING, expected a number/);
  fails(() => m.getNumber('a.u32'), /"a.u32" is an array of UINT32, expected a number/);
  fails(() => m.getBool('u8'), /expected a bool/);
  fails(() => m.getStrings('a.u32'), /expected an array of strings/);
  fails(() => m.getNumbers('a.str'), /expected an array of numbers/);
  fails(() => m.getArray('u8'), /expected an array/);
  fails(() => m.getNumber('u64.max'), /does not fit in a JS number/);
  fails(() => m.getNumbers('a.u64'), /"a.u64"\[1\] = 18446744073709551615 does not fit/);
  fails(() => m.getNumber('llama.block_count'), /"llama.block_count" is missing/);
  // A present value of the wrong type is an error even when a fallback is given.
  fails(() => m.getNumber('str.empty', 0), /expected a number/);
});

test('setters refuse values that do not fit their type', () => {
  const m = new GGUFMetadata();
  const bad = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(fn, (e) => isHearthError(e, 'invalid_argument') && pattern.test(e.message));
  bad(() => m.u8('k', 256), /256 is not a valid UINT8/);
  bad(() => m.i8('k', -129), /not a valid INT8/);
  bad(() => m.u32('k', -1), /not a valid UINT32/);
  bad(() => m.i32('k', 1.5), /not a valid INT32/);
  bad(() => m.u64('k', -1), /not a valid UINT64/);
  bad(() => m.u64('k', 1n << 64n), /not a valid UINT64/);
  bad(() => m.i64('k', 2 ** 60), /not a valid INT64/); // unsafe number: pass a bigint instead
  bad(() => m.f32('k', '1' as never), /FLOAT32 value must be a number/);
  bad(() => m.string('k', 'lone \uD800 surrogate'), /well-formed/);
  bad(() => m.i32s('k', [1, 2 ** 31]), /"k"\[1\]: 2147483648 is not a valid INT32/);
  bad(() => m.u8s('k', [1, -1]), /\[1\]/);
  bad(() => m.strings('k', ['a', 1 as never]), /STRING array/);
  bad(() => m.arrays('k', [{ type: V.UINT8, value: 1 } as never]), /must hold array values/);
  assert.equal(m.size, 0);
});

test('typed arrays given to setters are kept as they are; plain arrays become the typed class', () => {
  const f = new Float32Array([1, 2]);
  const m = new GGUFMetadata().f32s('a', f).i16s('b', [1, -2]);
  assert.equal(m.getArray('a').value, f);
  assert.ok(m.getArray('b').value instanceof Int16Array);
});
