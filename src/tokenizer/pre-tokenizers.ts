// Pre-tokenizer regex lists and flags for byte-level BPE vocabularies, selected by the GGUF key
// `tokenizer.ggml.pre` (ported from llama.cpp `llm_tokenizer_bpe` and `llama_vocab::impl::load`).
// Each list is applied in turn: every regex splits each piece of the previous step into its matches
// and the text between them.
import { HearthError } from '../util/errors.ts';

export interface PreTokenizerConfig {
  /** Canonical pre-tokenizer name (llama.cpp LLAMA_VOCAB_PRE_TYPE_*). */
  type: string;
  regexes: string[];
  cleanSpaces: boolean;
  ignoreMerges: boolean;
  /** Forces add_bos on before the GGUF key is read. */
  addBos?: boolean;
  /** false: merges run on raw UTF-8 with ▁ for spaces and <0xXX> byte fallback (Gemma 4 style). */
  byteEncode: boolean;
  escapeWhitespaces: boolean;
  /** chatglm-bpe: no BOS token. */
  noBos?: boolean;
}

const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const LLAMA3 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN35 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const DEEPSEEK3 = [
  '\\p{N}{1,3}',
  '[一-龥぀-ゟ゠-ヿ]+',
  "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
];
const TEKKEN = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const GPT4O = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const BLOOM = ' ?[^(\\s|.,!?…。，、।۔،)]+';

/** Regex lists by canonical type. */
const REGEXES: Record<string, string[]> = {
  default: ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]'],
  llama3: [LLAMA3],
  dbrx: [LLAMA3],
  smaug: [LLAMA3],
  chatglm4: [LLAMA3],
  'deepseek-llm': [
    '[\r\n]',
    '\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+',
    '\\s?[!-/:-~！-／：-～‘-‟　-。]+',
    '\\s+$',
    '[一-龥ࠀ-一가-퟿]+',
    '\\p{N}+',
  ],
  'deepseek-v3': DEEPSEEK3,
  'deepseek-coder': ['[\r\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', '[一-龥ࠀ-一가-퟿]+', '\\p{N}'],
  falcon: ['[\\p{P}\\$\\+<=>\\^~\\|`]+', GPT2, '[0-9][0-9][0-9]'],
  starcoder: ['\\p{N}', GPT2],
  gpt2: [GPT2],
  qwen2: [QWEN2],
  qwen35: [QWEN35],
  bloom: [BLOOM],
  viking: [BLOOM, '\\p{N}'],
  tekken: [TEKKEN],
  chameleon: [
    '<sentinel:[0-9]+>',
    '(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z',
    '([\\t\\n]|    |  )',
    '\\p{N}',
    '[\\p{P}!-/:-@\\[-`{-~]',
    GPT2,
  ],
  gpt4o: [GPT4O],
  seed_coder: ["(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"],
  bailingmoe: ["'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"],
  superbpe: ['\\p{N}+', '(?=(\\d{3})+(?!\\d))'],
  gemma4: ['[^\\n]+|[\\n]+'],
  whitespace: ['\\S+'],
};

interface PreEntry { type: string; clean?: boolean; ignoreMerges?: boolean; addBos?: boolean; gemma?: boolean; noBos?: boolean }

/** tokenizer.ggml.pre value -> type and flags (clean defaults to true, as in llama.cpp for BPE). */
const PRE_NAMES: Record<string, PreEntry> = {};
function names(list: string[], e: PreEntry): void { for (const n of list) PRE_NAMES[n] = e; }
names(['default'], { type: 'default' });
names(['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2', 'jina-v5-nano'],
  { type: 'llama3', ignoreMerges: true, addBos: true });
names(['deepseek-llm'], { type: 'deepseek-llm', clean: false });
names(['deepseek-coder'], { type: 'deepseek-coder', clean: false });
names(['deepseek-v3', 'hunyuan-dense', 'joyai-llm', 'hy_v4'], { type: 'deepseek-v3', clean: false });
names(['falcon'], { type: 'falcon' });
names(['mpt', 'olmo', 'jais', 'exaone4'], { type: 'gpt2' });
names(['gpt-2', 'phi-2', 'jina-es', 'jina-de', 'gigachat', 'jina-v2-es', 'jina-v2-de', 'a.x-4.0', 'mellum',
  'modern-bert', 'jina-v1-en', 'jina-v2-code', 'roberta-bpe'], { type: 'gpt2' });
names(['trillion', 'granite-docling'], { type: 'gpt2', clean: false });
names(['starcoder', 'refact', 'codeshell', 'exaone', 'minerva-7b', 'mellum2'], { type: 'starcoder' });
names(['command-r', 'smollm'], { type: 'starcoder', clean: false });
names(['qwen2', 'deepseek-r1-qwen', 'kormo', 'f2llmv2', 'hunyuan', 'solar-open', 'grok-2'], { type: 'qwen2', clean: false });
names(['stablelm2', 'megrez'], { type: 'qwen2' });
names(['qwen35'], { type: 'qwen35', clean: false });
names(['dbrx'], { type: 'dbrx' });
names(['smaug-bpe'], { type: 'smaug' });
names(['poro-chat'], { type: 'bloom', clean: false });
names(['bloom', 'gpt3-finnish'], { type: 'bloom' });
names(['glm4', 'chatglm-bpe'], { type: 'chatglm4', noBos: true });
names(['viking'], { type: 'viking', clean: false });
names(['tekken'], { type: 'tekken', clean: false, ignoreMerges: true, addBos: true });
names(['chameleon'], { type: 'chameleon', clean: false, addBos: true });
names(['gpt-4o', 'llama4', 'kanana2', 'talkie', 'minimax-m2'], { type: 'gpt4o', clean: false });
names(['superbpe'], { type: 'superbpe', clean: false });
names(['bailingmoe', 'bailingmoe2', 'llada-moe'], { type: 'bailingmoe', clean: false });
names(['seed-coder'], { type: 'seed_coder', clean: false });
names(['gemma4'], { type: 'gemma4', gemma: true });
names(['whitespace'], { type: 'whitespace' });

/** Looks up the pre-tokenizer for a GGUF `tokenizer.ggml.pre` value (missing → 'default'). */
export function preTokenizerConfig(pre: string | undefined): PreTokenizerConfig {
  const e = PRE_NAMES[pre ?? 'default'];
  if (!e) {
    throw new HearthError('tokenizer_invalid', `unknown pre-tokenizer type "${pre}" (tokenizer.ggml.pre); ` +
      `known: ${Object.keys(PRE_NAMES).join(', ')}`);
  }
  return {
    type: e.type,
    regexes: REGEXES[e.type],
    cleanSpaces: e.clean ?? true,
    ignoreMerges: e.ignoreMerges ?? false,
    addBos: e.addBos,
    byteEncode: !e.gemma && e.type !== 'whitespace',
    escapeWhitespaces: e.gemma === true,
    noBos: e.noBos,
  };
}
