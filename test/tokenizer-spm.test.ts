// SPM vocabularies from GGUF against llama.cpp's test vectors, plus the stories260K model vocab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedPath } from './shared.ts';
import { readVectors } from './tokenizer-vectors.ts';
import { readGGUFMetadata } from '../src/tokenizer/gguf-metadata.ts';
import { tokenizerFromGGUF } from '../src/tokenizer/from-gguf.ts';

for (const name of ['llama-spm', 'phi-3']) {
  test(`${name}: every llama.cpp test vector encodes to the expected ids and decodes back`, () => {
    const file = sharedPath('vocab', `ggml-vocab-${name}.gguf`);
    const tok = tokenizerFromGGUF(readGGUFMetadata(file));
    const cases = readVectors(file + '.inp', file + '.out');
    assert.equal(cases.length, 46);
    const failures: string[] = [];
    for (const c of cases) {
      const got = tok.encode(c.text, { addBos: false, addEos: false, parseSpecial: false });
      if (got.join(' ') !== c.ids.join(' ')) failures.push(`${JSON.stringify(c.text)}: ${got} != ${c.ids}`);
      const back = tok.decode(c.ids, { skipSpecial: false });
      if (back !== c.text) failures.push(`decode ${JSON.stringify(c.text)} -> ${JSON.stringify(back)}`);
    }
    assert.deepEqual(failures, []);
  });
}

test('llama-spm: flags, special ids and BOS handling follow the metadata', () => {
  const tok = tokenizerFromGGUF(readGGUFMetadata(sharedPath('vocab', 'ggml-vocab-llama-spm.gguf')));
  assert.equal(tok.vocabSize, 32000);
  assert.equal(tok.bosId, 1);
  assert.equal(tok.eosId, 2);
  assert.equal(tok.addBos, true);
  assert.equal(tok.addEos, false);
  assert.equal(tok.isEog(2), true);
  assert.equal(tok.isEog(1), false);
  // Default options add BOS; addEos appends EOS.
  assert.deepEqual(tok.encode('Hello world'), [1, 15043, 3186]);
  assert.deepEqual(tok.encode('Hello world', { addEos: true }), [1, 15043, 3186, 2]);
  assert.deepEqual(tok.encode(''), [1]);
  assert.deepEqual(tok.encode('', { addBos: false }), []);
  // Decoding strips the prefix space of a leading text token; a BOS in front keeps it (as llama.cpp).
  assert.equal(tok.decode([15043, 3186]), 'Hello world');
  assert.equal(tok.decode([1, 15043, 3186]), ' Hello world');
  assert.equal(tok.decode([1, 15043, 3186], { skipSpecial: false }), '<s> Hello world');
  assert.equal(tok.tokenToPiece(15043), ' Hello');
  assert.equal(tok.tokenToPiece(13), '\n'); // <0x0A>
});

test('llama-spm: special-token text is parsed only with parseSpecial', () => {
  const tok = tokenizerFromGGUF(readGGUFMetadata(sharedPath('vocab', 'ggml-vocab-llama-spm.gguf')));
  const plain = tok.encode('<s>Hi</s>', { addBos: false });
  assert.ok(!plain.includes(1) && !plain.includes(2), `plain: ${plain}`);
  const parsed = tok.encode('<s>Hi</s>', { addBos: false, parseSpecial: true });
  // After a special token the next text fragment gets the space prefix again: "▁Hi".
  assert.deepEqual(parsed, [1, tok.tokenId('▁Hi'), 2]);
  // A skipped leading BOS keeps the next token's space, as llama.cpp's detokenize does.
  assert.equal(tok.decode(parsed), ' Hi');
  assert.equal(tok.decode(parsed, { skipSpecial: false }), '<s> Hi</s>');
});

test('llama-spm: characters outside the vocabulary fall back to <0xXX> byte tokens', () => {
  const tok = tokenizerFromGGUF(readGGUFMetadata(sharedPath('vocab', 'ggml-vocab-llama-spm.gguf')));
  const ids = tok.encode('𝄞', { addBos: false }); // U+1D11E, F0 9D 84 9E
  const bytes = [0xf0, 0x9d, 0x84, 0x9e].map((b) => tok.tokenId(`<0x${b.toString(16).toUpperCase()}>`));
  assert.deepEqual(ids, [tok.tokenId('▁'), ...bytes]);
  assert.equal(tok.decode(ids), '𝄞');
});

test('stream decoder never emits half a UTF-8 character', () => {
  const tok = tokenizerFromGGUF(readGGUFMetadata(sharedPath('vocab', 'ggml-vocab-llama-spm.gguf')));
  const text = 'a 𝄞 b 😁!';
  const ids = tok.encode(text, { addBos: false });
  const dec = tok.createStreamDecoder();
  const parts = ids.map((id) => dec.push(id));
  parts.push(dec.flush());
  for (const p of parts) assert.ok(!p.includes('\uFFFD'), `partial output ${JSON.stringify(p)}`);
  // The stream keeps every space (no leading-space strip), so it equals the pieces joined.
  assert.equal(parts.join(''), ' ' + text);
  // An incomplete sequence at the end comes out as U+FFFD on flush.
  const d2 = tok.createStreamDecoder();
  assert.equal(d2.push(tok.tokenId('<0xF0>')), '');
  assert.equal(d2.flush(), '\uFFFD');
});

test('stories260K: "Once upon a time" gives the ids its 512-token vocabulary implies', () => {
  const md = readGGUFMetadata(sharedPath('models', 'stories260K.gguf'));
  const tok = tokenizerFromGGUF(md);
  assert.equal(tok.vocabSize, 512);
  const tokens = (md.get('tokenizer.ggml.tokens') as { value: string[] }).value;
  const scores = (md.get('tokenizer.ggml.scores') as { value: Float32Array }).value;
  // By hand: "▁Once" merges ▁+O (score -60), then ▁O+n (-62; "On" is no token), then ▁On+ce (-144);
  // each word is a single token of this vocabulary.
  const idOf = (t: string) => tokens.indexOf(t);
  assert.ok(scores[idOf('▁O')] > scores[idOf('ce')]);
  assert.equal(idOf('On'), -1);
  const expected = [1, idOf('▁Once'), idOf('▁upon'), idOf('▁a'), idOf('▁time')];
  assert.deepEqual(expected, [1, 403, 407, 261, 378]);
  assert.deepEqual(tok.encode('Once upon a time'), expected);
  assert.equal(tok.decode(expected.slice(1)), 'Once upon a time');
});

test('phi-3: control tokens right-strip whitespace after them (llama.cpp phi-3 attributes)', () => {
  const tok = tokenizerFromGGUF(readGGUFMetadata(sharedPath('vocab', 'ggml-vocab-phi-3.gguf')));
  const user = tok.tokenId('<|user|>'), end = tok.tokenId('<|end|>');
  assert.ok(tok.isEog(end) && tok.isEog(tok.eosId));
  const ids = tok.encode('<|user|>\n  Hi<|end|>\n', { addBos: false, parseSpecial: true });
  // The newline and spaces after <|user|> and <|end|> are stripped; "Hi" gets the space prefix.
  assert.deepEqual(ids, [user, tok.tokenId('▁Hi'), end]);
  // Without parseSpecial the text stays text.
  assert.ok(!tok.encode('<|user|>', { addBos: false }).includes(user));
});
