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
    // Letters as listed in the DeepSeek LLM tokenizer (escaped: canonical equivalents must not be normalized).
    '\\s?[' +
      'A-Za-z\\u{B5}\\u{C0}-\\u{D6}\\u{D8}-\\u{F6}\\u{F8}-\\u{1BA}\\u{1BC}-\\u{1BF}' +
      '\\u{1C4}-\\u{293}\\u{295}-\\u{2AF}\\u{370}-\\u{373}\\u{376}\\u{377}\\u{37B}-\\u{37D}' +
      '\\u{37F}\\u{386}\\u{388}-\\u{38A}\\u{38C}\\u{38E}-\\u{3A1}\\u{3A3}-\\u{3F5}' +
      '\\u{3F7}-\\u{481}\\u{48A}-\\u{52F}\\u{531}-\\u{556}\\u{10A0}-\\u{10C5}\\u{13A0}-\\u{13F5}' +
      '\\u{13F8}-\\u{13FD}\\u{1C90}-\\u{1CBA}\\u{1CBD}-\\u{1CBF}\\u{1D00}-\\u{1D2B}' +
      '\\u{1D6B}-\\u{1D77}\\u{1D79}-\\u{1D9A}\\u{1E00}-\\u{1F15}\\u{1F18}-\\u{1F1D}' +
      '\\u{1F20}-\\u{1F45}\\u{1F48}-\\u{1F4D}\\u{1F50}-\\u{1F57}\\u{1F59}\\u{1F5B}\\u{1F5D}' +
      '\\u{1F5F}-\\u{1F7D}\\u{1F80}-\\u{1FB4}\\u{1FB6}-\\u{1FBC}\\u{1FBE}\\u{1FC2}-\\u{1FC4}' +
      '\\u{1FC6}-\\u{1FCC}\\u{1FD0}-\\u{1FD3}\\u{1FD6}-\\u{1FDB}\\u{1FE0}-\\u{1FEC}' +
      '\\u{1FF2}-\\u{1FF4}\\u{1FF6}-\\u{1FFC}\\u{2102}\\u{2107}\\u{210A}-\\u{2113}\\u{2115}' +
      '\\u{2119}-\\u{211D}\\u{2124}\\u{2126}\\u{2128}\\u{212A}-\\u{212D}\\u{212F}-\\u{2134}' +
      '\\u{2139}\\u{213C}-\\u{213F}\\u{2145}-\\u{2149}\\u{214E}\\u{2183}\\u{2184}' +
      '\\u{2C00}-\\u{2C7B}\\u{2C7E}-\\u{2CE4}\\u{2CEB}-\\u{2CEE}\\u{2CF2}\\u{2CF3}' +
      '\\u{A640}-\\u{A66D}\\u{A680}-\\u{A69B}\\u{A722}-\\u{A76F}\\u{A771}-\\u{A787}' +
      '\\u{A78B}-\\u{A78E}\\u{AB70}-\\u{ABBF}\\u{FB00}-\\u{FB06}\\u{FB13}-\\u{FB17}' +
      '\\u{FF21}-\\u{FF3A}\\u{FF41}-\\u{FF5A}\\u{10400}-\\u{1044F}\\u{104B0}-\\u{104D3}' +
      '\\u{104D8}-\\u{104FB}\\u{10C80}-\\u{10CB2}\\u{10CC0}-\\u{10CF2}\\u{118A0}-\\u{118DF}' +
      '\\u{1E900}-\\u{1E943}' +
      ']+',
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
