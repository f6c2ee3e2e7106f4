// GPT-2 byte-level alphabet: every byte maps to one printable code point so that BPE can work on
// text. Printable Latin-1 bytes map to themselves; the other 68 bytes map to U+0100 and up.

const utf8 = new TextEncoder();

/** byte -> code point */
export const BYTE_TO_CHAR: Uint16Array = (() => {
  const m = new Uint16Array(256);
  const direct = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) m[b] = direct(b) ? b : 256 + n++;
  return m;
})();

/** code point -> byte, or -1 (indexed by code point < 324). */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const m = new Int16Array(324).fill(-1);
  for (let b = 0; b < 256; b++) m[BYTE_TO_CHAR[b]] = b;
  return m;
})();

/** Byte-level string of each byte (single-char strings, for fast concatenation). */
const BYTE_STR: string[] = Array.from(BYTE_TO_CHAR, (c) => String.fromCharCode(c));

/** Encodes text as UTF-8 and maps every byte to its byte-level character. */
export function byteLevelEncode(text: string): string {
  // ASCII fast path: most bytes map to themselves except space/control characters.
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) { out += BYTE_STR[c]; continue; }
    const bytes = utf8.encode(text.slice(i));
    for (let j = 0; j < bytes.length; j++) out += BYTE_STR[bytes[j]];
    return out;
  }
  return out;
}

/** Maps byte-level characters back to bytes (llama.cpp `llama_decode_text`). */
export function byteLevelDecodeToken(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const b = cp < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[cp] : -1;
    if (b >= 0) { out.push(b); continue; }
    // Not a byte-level character: llama.cpp writes a marker with the hex bytes and the token text.
    const hex = Array.from(utf8.encode(ch), (x) => x.toString(16).padStart(2, '0')).join('');
    for (const x of utf8.encode(`[UNK_BYTE_0x${hex}${text}]`)) out.push(x);
  }
  return Uint8Array.from(out);
}
