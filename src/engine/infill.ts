// Fill-in-the-middle prompts: a model trained for infill marks the code before the cursor, the code after it and
// the place to write with special tokens (FIM_PRE, FIM_SUF, FIM_MID). The token ids come from the GGUF metadata
// (`tokenizer.ggml.fim_*_token_id`, or the older `prefix` / `suffix` / `middle` names), else from the texts
// llama.cpp's vocabulary loader recognises. The prompt is laid out as llama-server's /infill lays it out:
//
//   [extra context] [BOS] FIM_PRE prefix prompt FIM_SUF suffix FIM_MID
//
// (suffix first, SPM-style, when `spm` is set), where the extra context is, with FIM_REP and FIM_SEP tokens, the
// repo-level pattern `FIM_REP myproject\n FIM_SEP name\n text … FIM_SEP filename\n`, and without them each chunk
// after a "--- snippet ---" line.

import { HearthError } from '../util/errors.ts';
import type { GGUFMetadata } from '../gguf/index.ts';
import type { Tokenizer } from '../tokenizer/types.ts';

export interface FimTokens {
  pre: number;
  suf: number;
  mid: number;
  /** Repository-name marker (FIM_REP), -1 when the vocabulary has none. */
  rep: number;
  /** File separator (FIM_SEP), -1 when the vocabulary has none. */
  sep: number;
}

/** Metadata keys per role, newest first, and the token texts llama.cpp recognises when the metadata names none. */
const ROLES: Record<keyof FimTokens, { keys: string[]; texts: string[] }> = {
  pre: {
    keys: ['tokenizer.ggml.fim_pre_token_id', 'tokenizer.ggml.prefix_token_id'],
    texts: ['<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>'],
  },
  suf: {
    keys: ['tokenizer.ggml.fim_suf_token_id', 'tokenizer.ggml.suffix_token_id'],
    texts: ['<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>'],
  },
  mid: {
    keys: ['tokenizer.ggml.fim_mid_token_id', 'tokenizer.ggml.middle_token_id'],
    texts: ['<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>'],
  },
  rep: { keys: ['tokenizer.ggml.fim_rep_token_id'], texts: ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'] },
  sep: { keys: ['tokenizer.ggml.fim_sep_token_id'], texts: ['<|file_sep|>'] },
};

function roleToken(md: GGUFMetadata, tok: Tokenizer, role: keyof FimTokens): number {
  for (const key of ROLES[role].keys) {
    const id = md.getNumber(key, undefined) as number | undefined;
    if (id !== undefined && id >= 0 && id < tok.vocabSize) return id;
  }
  for (const text of ROLES[role].texts) {
    const id = tok.tokenId(text);
    if (id >= 0) return id;
  }
  return -1;
}

/** The model's FIM tokens, or undefined when it lacks any of FIM_PRE, FIM_SUF and FIM_MID. */
export function fimTokens(md: GGUFMetadata, tok: Tokenizer): FimTokens | undefined {
  const fim = { pre: -1, suf: -1, mid: -1, rep: -1, sep: -1 };
  for (const role of Object.keys(ROLES) as (keyof FimTokens)[]) fim[role] = roleToken(md, tok, role);
  return fim.pre < 0 || fim.suf < 0 || fim.mid < 0 ? undefined : fim;
}

/** Which of the three required tokens a model lacks, for the error that refuses an infill request. */
export function missingFimTokens(md: GGUFMetadata, tok: Tokenizer): string[] {
  const names = { pre: 'FIM_PRE', suf: 'FIM_SUF', mid: 'FIM_MID' } as const;
  return (['pre', 'suf', 'mid'] as const).filter((r) => roleToken(md, tok, r) < 0).map((r) => names[r]);
}

export interface InfillInput {
  /** The code before the cursor. */
  prefix: string;
  /** The code after it. */
  suffix: string;
  /** Other files as context, before the FIM prefix. */
  extra?: { filename?: string; text: string }[];
  /** Text that follows the prefix (llama-server's `prompt` on /infill: what the editor has typed on the line). */
  prompt?: string;
}

export interface InfillBudget {
  /** Context window. */
  nCtx: number;
  /** Tokens of prefix plus suffix kept: 3/4 of it for the prefix's end, the rest for the suffix's start. */
  nBatch: number;
  /** Tokens to be generated (extra context gets what is left after nBatch and twice this). */
  nPredict: number;
  /** Suffix before prefix (the SPM-style order some models were trained on). */
  spm?: boolean;
}

/** The infill prompt's token ids (see the top of this file), cut to the budget as llama-server cuts it. */
export function infillTokens(tok: Tokenizer, fim: FimTokens, input: InfillInput, budget: InfillBudget): number[] {
  const plain = (text: string) => tok.encode(text, { addBos: false, addEos: false, parseSpecial: false });
  const extra: number[] = [];
  if (fim.rep >= 0) extra.push(fim.rep, ...plain('myproject\n'));
  for (const chunk of input.extra ?? []) {
    if (fim.sep >= 0) extra.push(fim.sep, ...plain(`${chunk.filename ?? 'tmp'}\n`));
    else extra.push(...plain('\n\n--- snippet ---\n\n'));
    extra.push(...plain(chunk.text));
  }
  if (fim.sep >= 0) extra.push(fim.sep, ...plain('filename\n'));

  let prefix = plain(input.prefix);
  let suffix = plain(input.suffix);
  const prompt = input.prompt ? plain(input.prompt) : [];
  const quarter = Math.floor(budget.nBatch / 4);
  const prefixTake = Math.min(prefix.length, 3 * quarter);
  const suffixTake = Math.min(suffix.length, Math.max(0, quarter - (2 + prompt.length)));
  const extraTake = Math.min(Math.max(0, budget.nCtx - budget.nBatch - 2 * budget.nPredict), extra.length);
  prefix = prefix.slice(prefix.length - prefixTake);
  suffix = suffix.slice(0, suffixTake);

  const pre = [fim.pre, ...prefix, ...prompt];
  const suf = [fim.suf, ...suffix];
  const [first, second] = budget.spm ? [suf, pre] : [pre, suf];
  const bos = tok.addBos && tok.bosId >= 0 ? [tok.bosId] : [];
  return [...extra.slice(extra.length - extraTake), ...bos, ...first, ...second, fim.mid];
}

/** The FIM tokens of a model that must have them; a model without is a 400 naming what it lacks. */
export function requireFimTokens(md: GGUFMetadata, tok: Tokenizer, model: string): FimTokens {
  const fim = fimTokens(md, tok);
  if (fim) return fim;
  throw new HearthError('invalid_argument', `model "${model}" cannot fill in the middle: its vocabulary has no ` +
    `${missingFimTokens(md, tok).join(', ')} token (GGUF tokenizer.ggml.fim_pre_token_id, fim_suf_token_id, fim_mid_token_id)`);
}
