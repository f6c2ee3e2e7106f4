// Byte-level BPE (llama.cpp `llm_tokenizer_bpe`): not yet implemented.
import { HearthError } from '../util/errors.ts';
import type { Vocab } from './vocab.ts';

export class BpeEncoder {
  constructor(_vocab: Vocab) {
    throw new HearthError('tokenizer_invalid', 'BPE vocabularies are not supported yet');
  }
  encode(_text: string, _out: number[]): void {}
}
