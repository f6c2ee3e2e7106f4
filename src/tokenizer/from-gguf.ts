// Builds a Tokenizer from GGUF metadata (llama.cpp `llama_vocab::impl::load`): vocabulary type,
// flags and their defaults, token attributes, special ids, text-detected EOT/FIM tokens and the
// end-of-generation set.
import { HearthError } from '../util/errors.ts';
import { TokenAttr, attrFromType, type Tokenizer } from './types.ts';
import { Vocab, type SpecialIds, type VocabFlags, type VocabKind } from './vocab.ts';
import { GGMLTokenizer } from './ggml-tokenizer.ts';
import { preTokenizerConfig } from './pre-tokenizers.ts';
import { EOG_TEXTS } from './eog.ts';
import {
  type GGUFMetadata, metaString, metaNumber, metaBool, metaStringArray, metaNumberArray,
} from './gguf-metadata.ts';

const K = 'tokenizer.ggml.';

const ID_KEYS: [keyof SpecialIds, string][] = [
  ['bos', 'bos_token_id'], ['eos', 'eos_token_id'], ['eot', 'eot_token_id'], ['eom', 'eom_token_id'],
  ['unk', 'unknown_token_id'], ['sep', 'seperator_token_id'], ['pad', 'padding_token_id'],
  ['mask', 'mask_token_id'],
  ['fimPre', 'fim_pre_token_id'], ['fimSuf', 'fim_suf_token_id'], ['fimMid', 'fim_mid_token_id'],
  ['fimPad', 'fim_pad_token_id'], ['fimRep', 'fim_rep_token_id'], ['fimSep', 'fim_sep_token_id'],
  // deprecated names
  ['fimPre', 'prefix_token_id'], ['fimSuf', 'suffix_token_id'], ['fimMid', 'middle_token_id'],
];

/** Token texts that mark a special role when metadata does not name it. */
const DETECT: [keyof SpecialIds, string[]][] = [
  ['eot', ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>',
    '_<EOT>', '[EOT]', '<｜end▁of▁sentence｜>', '<end_of_utterance>']],
  ['eom', ['<|eom_id|>']],
  ['fimPre', ['<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>']],
  ['fimSuf', ['<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>']],
  ['fimMid', ['<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>']],
  ['fimPad', ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]']],
  ['fimRep', ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>']],
  ['fimSep', ['<|file_sep|>']],
];


function nullIds(): SpecialIds {
  return { bos: -1, eos: -1, eot: -1, eom: -1, unk: -1, sep: -1, pad: -1, mask: -1,
    fimPre: -1, fimSuf: -1, fimMid: -1, fimPad: -1, fimRep: -1, fimSep: -1 };
}

/** Builds the vocabulary described by GGUF metadata. */
export function vocabFromGGUF(md: GGUFMetadata): Vocab {
  const model = metaString(md, K + 'model');
  if (model === undefined) throw new HearthError('tokenizer_invalid', `GGUF metadata has no ${K}model`);
  let pre = metaString(md, K + 'pre');
  if (model === 'gemma4') pre = 'gemma4';
  const ids = nullIds();
  const flags: VocabFlags = {
    addSpacePrefix: false, addBos: false, addEos: false, ignoreMerges: false, cleanSpaces: false,
    removeExtraWhitespaces: false, escapeWhitespaces: false, lowercase: true, stripAccents: true,
  };
  let kind: VocabKind;
  let merges: string[] | undefined;
  if (model === 'llama') {
    kind = 'spm';
    Object.assign(ids, { bos: 1, eos: 2, unk: 0 });
    Object.assign(flags, { addSpacePrefix: true, addBos: true });
  } else if (model === 'bert') {
    kind = 'wpm';
    Object.assign(ids, { bos: 101, unk: 100, sep: 102, pad: 0, mask: 103 });
    Object.assign(flags, { cleanSpaces: true, addBos: true, addSep: true });
  } else if (model === 'gpt2' || model === 'gemma4') {
    kind = 'bpe';
    merges = metaStringArray(md, K + 'merges');
    if (!merges) throw new HearthError('tokenizer_invalid', `BPE vocabulary without ${K}merges`);
    if (model === 'gpt2') Object.assign(ids, { bos: 11, eos: 11 });
    const cfg = preTokenizerConfig(pre);
    flags.cleanSpaces = cfg.cleanSpaces;
    flags.ignoreMerges = cfg.ignoreMerges;
    if (cfg.addBos) flags.addBos = true;
    if (cfg.noBos) ids.bos = -1;
    flags.escapeWhitespaces = cfg.escapeWhitespaces;
  } else if (model === 'no_vocab' || model === 'none') {
    throw new HearthError('tokenizer_invalid', 'this model has no vocabulary (tokenizer.ggml.model = "none")');
  } else {
    throw new HearthError('tokenizer_invalid', `unsupported tokenizer model "${model}" (${K}model)`);
  }
  flags.addSpacePrefix = metaBool(md, K + 'add_space_prefix') ?? flags.addSpacePrefix;
  flags.removeExtraWhitespaces = metaBool(md, K + 'remove_extra_whitespaces') ?? flags.removeExtraWhitespaces;

  const tokens = metaStringArray(md, K + 'tokens');
  if (!tokens || tokens.length === 0) throw new HearthError('tokenizer_invalid', `GGUF metadata has no ${K}tokens`);
  const n = tokens.length;
  const scores = metaNumberArray(md, K + 'scores');
  if (scores && scores.length < n) {
    throw new HearthError('tokenizer_invalid', `${K}scores has ${scores.length} entries for ${n} tokens`);
  }
  const types = metaNumberArray(md, K + 'token_type');
  if (types && types.length < n) {
    throw new HearthError('tokenizer_invalid', `${K}token_type has ${types.length} entries for ${n} tokens`);
  }
  const attrs = new Uint16Array(n);
  for (let i = 0; i < n; i++) attrs[i] = types ? attrFromType(types[i]) : TokenAttr.NORMAL;
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const t = tokens[i] === '' ? `[EMPTY_${i}]` : tokens[i];
    const j = seen.get(t);
    if (j !== undefined) throw new HearthError('tokenizer_invalid', `duplicate token "${t}" at ids ${j} and ${i}`);
    seen.set(t, i);
  }

  for (const [name, key] of ID_KEYS) {
    if (ids[name] >= n) ids[name] = -1;
    const v = metaNumber(md, K + key);
    if (v === undefined) continue;
    if (Number.isInteger(v) && v >= 0 && v < n) ids[name] = v;
  }
  flags.lowercase = metaBool(md, K + 'normalizer.lowercase') ?? flags.lowercase;
  flags.stripAccents = metaBool(md, K + 'normalizer.strip_accents') ?? flags.lowercase;
  flags.addBos = metaBool(md, K + 'add_bos_token') ?? flags.addBos;
  flags.addEos = metaBool(md, K + 'add_eos_token') ?? flags.addEos;
  flags.addSep = metaBool(md, K + 'add_sep_token') ?? flags.addSep ?? false;
  if (pre === 'gemma4') flags.addBos = true; // llama.cpp overrides this for Gemma 4
  if (flags.addBos && ids.bos < 0) flags.addBos = false;
  if (flags.addEos && ids.eos < 0) flags.addEos = false;
  if (flags.addSep && ids.sep < 0) flags.addSep = false;

  const forceControl = (id: number) => { attrs[id] |= TokenAttr.CONTROL; };
  for (const [name, texts] of DETECT) {
    if (ids[name] >= 0) continue;
    for (const t of texts) {
      const id = seen.get(t);
      if (id !== undefined) { ids[name] = id; forceControl(id); break; }
    }
  }
  for (let i = 0; i < n; i++) {
    if ((attrs[i] & TokenAttr.CONTROL) && tokens[i].includes('unused')) attrs[i] |= TokenAttr.UNUSED;
  }
  const eog = new Set<number>();
  for (const id of [ids.fimPad, ids.fimRep, ids.fimSep]) if (id >= 0) eog.add(id);
  for (const t of EOG_TEXTS) {
    const id = seen.get(t);
    if (id !== undefined) { eog.add(id); forceControl(id); }
  }
  for (const id of [ids.eos, ids.eot, ids.eom]) if (id >= 0) eog.add(id);

  // Per-model attribute fixes that llama.cpp applies by name.
  const name = (metaString(md, 'general.name') ?? '').toLowerCase();
  if (pre && /jina-v2-(de|es|code)/.test(pre)) {
    const id = seen.get('<mask>');
    if (id !== undefined) attrs[id] |= TokenAttr.LSTRIP;
  } else if (name.includes('phi-3') || name.includes('phi3')) {
    for (let i = 0; i < n; i++) {
      if (attrs[i] & (TokenAttr.CONTROL | TokenAttr.USER_DEFINED | TokenAttr.UNKNOWN)) attrs[i] |= TokenAttr.RSTRIP;
    }
    const setR = (t: string, on: boolean) => {
      const id = seen.get(t);
      if (id === undefined) return;
      attrs[id] = on ? attrs[id] | TokenAttr.RSTRIP : attrs[id] & ~TokenAttr.RSTRIP;
    };
    setR('</s>', true);
    for (const t of ['<unk>', '<s>', '<|endoftext|>']) setR(t, false);
  }

  return new Vocab({
    kind, tokens: tokens.slice(), scores, attrs, pre, merges, special: ids, eog, flags,
    chatTemplate: metaString(md, 'tokenizer.chat_template'),
  });
}

/** Builds a Tokenizer from GGUF metadata (a Map of key → GGUF value, as the GGUF reader returns). */
export function tokenizerFromGGUF(md: GGUFMetadata): Tokenizer {
  return new GGMLTokenizer(vocabFromGGUF(md));
}
