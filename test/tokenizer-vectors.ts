// Reads llama.cpp tokenizer test vectors (`.inp` / `.out` beside a vocab, see ../shared/DATA.md).
import { readFileSync } from 'node:fs';

export interface VocabCase { text: string; ids: number[] }

const SEP = '\n__ggml_vocab_test__\n';

export function readVectors(inpPath: string, outPath: string): VocabCase[] {
  const pieces = readFileSync(inpPath, 'utf8').split(SEP);
  if (pieces[pieces.length - 1] === '') pieces.pop();
  const lines = readFileSync(outPath, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (pieces.length !== lines.length) {
    throw new Error(`${inpPath}: ${pieces.length} inputs but ${lines.length} expected lines`);
  }
  return pieces.map((text, i) => {
    const s = lines[i].trim();
    return { text, ids: s === '' ? [] : s.split(' ').map(Number) };
  });
}
