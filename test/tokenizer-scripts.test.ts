// Text in scripts llama.cpp's own test vectors barely touch (Hangul, Devanagari, Thai, Arabic with
// harakat, Hebrew points, CJK, emoji, invisible characters), tokenized by Hearth and by llama.cpp
// (the reference, see reference/client.ts) with every vocab-only GGUF of ../shared/vocab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { SHARED_DIR, sharedPath } from './shared.ts';
import { referenceTokenizeMany, requireReference } from './reference/client.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';

const STRINGS: string[] = [
  '한국어 텍스트를 토큰화합니다',
  '안녕하세요, 세계! 서울은 대한민국의 수도입니다.',
  '조선글 ㄱㄴㄷ 각 가각갂',
  'नमस्ते दुनिया',
  'हिन्दी भाषा में क़िताब और ज़मीन। १२३',
  'สวัสดีครับ ภาษาไทยไม่มีช่องว่างระหว่างคำ ๑๒๓',
  'بِسْمِ ٱللَّهِ ٱلرَّحْمَٰنِ ٱلرَّحِيمِ',
  'اَلْعَرَبِيَّةُ لُغَةٌ جَمِيلَةٌ؟ نعم، جميلة! ١٢٣',
  'Hello 世界! 日本語のテキストと中文混合, 한국어도 OK.',
  '漢字かなカナ：「引用」、句読点。𠀋𪚲',
  'emoji 🦙🔥 family 👨‍👩‍👧 flag 🇰🇷 and ❤️ hearts 👍🏽',
  'Ünïcödé ÀÉÎÕÜ ñ ç ß İstanbul ΟΔΟΣ Ωmega Ǆ ﬁ ㈜ ① ½ Å K',
  'tab\there\u00a0nbsp\u3000ideo\u200bzwsp\u200dzwj\ufeffbom\u0378',
  'mixed: abc한글def नमस्ते123 ไทย!? שָׁלוֹם Привет',
  'தமிழ் மொழி বাংলা ভাষা မြန်မာဘာသာ ខ្មែរ',
  'Tiếng Việt có dấu: Hà Nội, ελληνικά ΆΈΉ ΐΰ, İıŞş ẞ ǅ',
  '１２３ＡＢＣ ｶﾀｶﾅ ﷺ ﷽ ﻻ ﬀﬃ Ⅻ ㎏ ℡',
  '🏳️‍🌈 🧑🏿‍💻 #️⃣ 1️⃣ a\u0000b\u0007c\u001fd',
  '<s> </s> <unk> [CLS] [SEP] <|endoftext|>',
  // Unicode 16/17 characters (Garay, Todhri, Kirat Rai, CJK extension J): unknown to llama.cpp's tables.
  '\u{10D50}\u{105C9}\u{16D68} \u{323B0}',
];

const VOCABS = readdirSync(`${SHARED_DIR}/vocab`).filter((f) => f.endsWith('.gguf')).sort();

function diff(path: string, texts: string[]): string[] {
  const tok = loadTokenizer(path);
  const want = referenceTokenizeMany(path, texts, { vocabOnly: true });
  const failures: string[] = [];
  texts.forEach((text, i) => {
    const got = tok.encode(text, { addBos: false, addEos: false });
    if (got.join(' ') !== want[i].join(' ')) {
      failures.push(`#${i} ${JSON.stringify(text.slice(0, 60))}: hearth ${got.length} ids [${got.slice(0, 40)}], llama.cpp ${want[i].length} [${want[i].slice(0, 40)}]`);
    }
  });
  return failures;
}

test('the vocab folder has the GGUF vocabularies this test expects', () => {
  assert.ok(VOCABS.length >= 12, `found ${VOCABS.join(', ')}`);
  assert.ok(VOCABS.includes('ggml-vocab-bert-bge.gguf'));
});

for (const name of VOCABS) {
  test(`${name}: ${STRINGS.length} multi-script strings tokenize as llama.cpp does`, (t) => {
    if (!requireReference(t)) return;
    assert.deepEqual(diff(sharedPath('vocab', name), STRINGS), []);
  });
}

test('bert-bge: every Unicode scalar value, inside a word and on its own, tokenizes as llama.cpp does', (t) => {
  // Each character in "a<c>b <c> ": the ids show whether it joins the word, splits it, ends it or
  // vanishes, and what it becomes when the vocabulary knows it (é → e, Ä → a, 한 → ᄒ, …).
  if (!requireReference(t)) return;
  const texts: string[] = [];
  for (let base = 0; base < 0x110000; base += 0x2000) {
    let s = '';
    for (let cp = base; cp < base + 0x2000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      s += `a${c}b ${c} `;
    }
    texts.push(s);
  }
  const failures = diff(sharedPath('vocab', 'ggml-vocab-bert-bge.gguf'), texts);
  assert.deepEqual(failures, []); // #k is the chunk starting at code point k * 0x2000
});
