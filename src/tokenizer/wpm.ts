// WordPiece (llama.cpp `llm_tokenizer_wpm`): not yet implemented.
import { HearthError } from '../util/errors.ts';
import type { Vocab } from './vocab.ts';

export class WpmEncoder {
  constructor(_vocab: Vocab) {
    throw new HearthError('tokenizer_invalid', 'WordPiece vocabularies are not supported yet');
  }
  encode(_text: string, _out: number[]): void {}
}
