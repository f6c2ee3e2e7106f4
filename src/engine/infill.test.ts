// The infill prompt on stories260K's vocabulary: FIM token ids from each metadata spelling and from token texts, and
// the token order of llama-server's format_prompt_infill (plain, SPM-style, repo-level with FIM_REP / FIM_SEP),
// cut to its budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedPath } from '../../test/shared.ts';
import { GGUFMetadata } from '../gguf/index.ts';
import { openModelInfo } from './model-info.ts';
import { fimTokens, infillTokens, missingFimTokens, requireFimTokens, type FimTokens } from './infill.ts';

const info = openModelInfo(sharedPath('models', 'stories260K.gguf'));
const tok = info.tokenizer;
const plain = (text: string) => tok.encode(text, { addBos: false, parseSpecial: false });
const bos = tok.addBos ? [tok.bosId] : [];
const withIds = (ids: Record<string, number>) => {
  const md = GGUFMetadata.from(info.metadata);
  for (const [k, v] of Object.entries(ids)) md.u32(`tokenizer.ggml.${k}`, v);
  return md;
};
const FIM: FimTokens = { pre: 400, suf: 401, mid: 402, rep: -1, sep: -1 };
const wide = { nCtx: 4096, nBatch: 2048, nPredict: 0 };

test('FIM token ids: the fim_* keys, the older prefix/suffix/middle keys; a vocabulary without them names what it lacks', () => {
  assert.equal(fimTokens(info.metadata, tok), undefined);
  assert.deepEqual(missingFimTokens(info.metadata, tok), ['FIM_PRE', 'FIM_SUF', 'FIM_MID']);
  assert.throws(() => requireFimTokens(info.metadata, tok, 'stories'), /model "stories" cannot fill in the middle: its vocabulary has no FIM_PRE, FIM_SUF, FIM_MID token/);
  assert.deepEqual(fimTokens(withIds({ fim_pre_token_id: 400, fim_suf_token_id: 401, fim_mid_token_id: 402 }), tok), FIM);
  assert.deepEqual(fimTokens(withIds({ prefix_token_id: 400, suffix_token_id: 401, middle_token_id: 402 }), tok), FIM);
  assert.deepEqual(missingFimTokens(withIds({ fim_pre_token_id: 400 }), tok), ['FIM_SUF', 'FIM_MID']);
});

test('infill order: [BOS] FIM_PRE prefix prompt FIM_SUF suffix FIM_MID; SPM-style puts the suffix first', () => {
  const input = { prefix: 'the cat', suffix: ' sat down', prompt: ' big' };
  assert.deepEqual(infillTokens(tok, FIM, input, wide),
    [...bos, 400, ...plain('the cat'), ...plain(' big'), 401, ...plain(' sat down'), 402]);
  assert.deepEqual(infillTokens(tok, FIM, input, { ...wide, spm: true }),
    [...bos, 401, ...plain(' sat down'), 400, ...plain('the cat'), ...plain(' big'), 402]);
});

test('extra context: the repo-level pattern with FIM_REP and FIM_SEP, else a snippet line per chunk, before BOS', () => {
  const extra = [{ filename: 'a.txt', text: 'one' }, { text: 'two' }];
  const repo = { ...FIM, rep: 403, sep: 404 };
  assert.deepEqual(infillTokens(tok, repo, { prefix: 'x', suffix: 'y', extra }, wide), [
    403, ...plain('myproject\n'), 404, ...plain('a.txt\n'), ...plain('one'), 404, ...plain('tmp\n'), ...plain('two'), 404, ...plain('filename\n'),
    ...bos, 400, ...plain('x'), 401, ...plain('y'), 402,
  ]);
  const snippet = plain('\n\n--- snippet ---\n\n');
  assert.deepEqual(infillTokens(tok, FIM, { prefix: 'x', suffix: 'y', extra }, wide),
    [...snippet, ...plain('one'), ...snippet, ...plain('two'), ...bos, 400, ...plain('x'), 401, ...plain('y'), 402]);
});

test('budget: the prefix keeps its last 3/4 of nBatch, the suffix its first nBatch/4 - 2 - prompt, extra the context left', () => {
  const prefix = 'the dog ran. '.repeat(30);
  const suffix = 'a cat sat. '.repeat(30);
  const p = plain(prefix);
  const s = plain(suffix);
  const got = infillTokens(tok, FIM, { prefix, suffix, prompt: ' and' }, { nCtx: 512, nBatch: 64, nPredict: 0 });
  const prompt = plain(' and');
  assert.deepEqual(got, [...bos, 400, ...p.slice(p.length - 48), ...prompt, 401, ...s.slice(0, 16 - 2 - prompt.length), 402]);
  const extra = [{ text: 'one two three four five six seven' }];
  const e = [...plain('\n\n--- snippet ---\n\n'), ...plain(extra[0].text)];
  const cut = infillTokens(tok, FIM, { prefix: 'x', suffix: 'y', extra }, { nCtx: 64 + 2 * 10 + 5, nBatch: 64, nPredict: 10 });
  assert.deepEqual(cut.slice(0, 5), e.slice(e.length - 5));
  assert.equal(cut[5], bos[0] ?? 400);
});
