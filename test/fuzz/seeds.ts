// The GGUF fuzzer's seed corpus: tiny models made here with the writer (a few KB each), so that mutants reach every
// part of the reader, the loader and one forward step. `node scripts/fuzz.ts --write-seeds` writes them to
// test/fuzz/corpus/.
import { GGUFMetadata, ggufArray, serializeGGUF, GGMLType, type GGUFTensorInput } from '../../src/gguf/index.ts';
import { GGUFValueType } from '../../src/gguf/value-types.ts';
import { SeededRandom } from '../fixtures/seeded-random.ts';

/** A vocabulary of SentencePiece pieces: control tokens, bytes-free single letters and a few words. */
function spmVocab(m: GGUFMetadata): number {
  const pieces = ['<unk>', '<s>', '</s>', '▁', ...'abcdefghijklmnopqrstuvwxyz'.split(''), '▁a', '▁the', '▁once', '▁upon', '▁time', 'ing', 'ed', '.', ','];
  m.string('tokenizer.ggml.model', 'llama')
    .strings('tokenizer.ggml.tokens', pieces)
    .f32s('tokenizer.ggml.scores', pieces.map((_, i) => -i))
    .i32s('tokenizer.ggml.token_type', pieces.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : 1)))
    .u32('tokenizer.ggml.bos_token_id', 1).u32('tokenizer.ggml.eos_token_id', 2).u32('tokenizer.ggml.unknown_token_id', 0);
  return pieces.length;
}

/** A GPT-2 style byte-level BPE vocabulary with a few merges. */
function bpeVocab(m: GGUFMetadata): number {
  const bytes = 'abcdefghijklmnopqrstuvwxyzĠ'.split('');
  const merged = ['Ġa', 'Ġt', 'th', 'Ġth', 'in', 'ing'];
  const tokens = [...bytes, ...merged, '<|endoftext|>'];
  m.string('tokenizer.ggml.model', 'gpt2').string('tokenizer.ggml.pre', 'gpt-2')
    .strings('tokenizer.ggml.tokens', tokens)
    .i32s('tokenizer.ggml.token_type', tokens.map((t) => (t.startsWith('<|') ? 3 : 1)))
    .strings('tokenizer.ggml.merges', ['Ġ a', 'Ġ t', 't h', 'Ġt h', 'i n', 'in g'])
    .u32('tokenizer.ggml.bos_token_id', tokens.length - 1).u32('tokenizer.ggml.eos_token_id', tokens.length - 1);
  return tokens.length;
}

function f32(rng: SeededRandom, n: number, scale: number, offset = 0): () => Uint8Array {
  return () => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = offset + scale * (rng.uniform() * 2 - 1);
    return new Uint8Array(a.buffer);
  };
}

/** A one-layer decoder of architecture `arch` ('llama' or 'qwen2'): nEmbd 8, two heads (one KV head), FFN 16. */
function decoder(arch: 'llama' | 'qwen2', seed: number): Uint8Array {
  const rng = new SeededRandom(seed);
  const m = new GGUFMetadata().string('general.architecture', arch).string('general.name', `fuzz-${arch}`);
  const nVocab = arch === 'llama' ? spmVocab(m) : bpeVocab(m);
  const nEmbd = 8;
  const nFF = 16;
  const k = (s: string) => `${arch}.${s}`;
  m.u32(k('context_length'), 64).u32(k('embedding_length'), nEmbd).u32(k('block_count'), 1).u32(k('feed_forward_length'), nFF)
    .u32(k('attention.head_count'), 2).u32(k('attention.head_count_kv'), 1).u32(k('rope.dimension_count'), 4)
    .f32(k('attention.layer_norm_rms_epsilon'), 1e-5).f32(k('rope.freq_base'), 10000).u32('general.alignment', 32);
  const t = (name: string, shape: number[], scale = 0.3, offset = 0): GGUFTensorInput => ({
    name, shape, type: GGMLType.F32, data: f32(rng, shape.reduce((a, b) => a * b, 1), scale, offset),
  });
  const tensors: GGUFTensorInput[] = [
    t('token_embd.weight', [nEmbd, nVocab]),
    t('output_norm.weight', [nEmbd], 0.1, 1),
    t('blk.0.attn_norm.weight', [nEmbd], 0.1, 1),
    t('blk.0.attn_q.weight', [nEmbd, nEmbd]),
    t('blk.0.attn_k.weight', [nEmbd, 4]),
    t('blk.0.attn_v.weight', [nEmbd, 4]),
    t('blk.0.attn_output.weight', [nEmbd, nEmbd]),
    t('blk.0.ffn_norm.weight', [nEmbd], 0.1, 1),
    t('blk.0.ffn_gate.weight', [nEmbd, nFF]),
    t('blk.0.ffn_up.weight', [nEmbd, nFF]),
    t('blk.0.ffn_down.weight', [nFF, nEmbd]),
  ];
  if (arch === 'qwen2') {
    tensors.push(t('blk.0.attn_q.bias', [nEmbd]), t('blk.0.attn_k.bias', [4]), t('blk.0.attn_v.bias', [4]));
  } else {
    tensors.push(t('output.weight', [nEmbd, nVocab]));
  }
  return serializeGGUF({ metadata: m, tensors });
}

/** Metadata of every value type, arrays of strings and arrays of arrays, and one small tensor per storage type. */
function kitchenSink(): Uint8Array {
  const m = new GGUFMetadata().string('general.architecture', 'none')
    .u8('t.u8', 7).i8('t.i8', -7).u16('t.u16', 700).i16('t.i16', -700).u32('t.u32', 70000).i32('t.i32', -70000)
    .u64('t.u64', 2 ** 40).i64('t.i64', -(2 ** 40)).f32('t.f32', 1.5).f64('t.f64', -2.25).bool('t.bool', true)
    .string('t.str', 'héllo ✓').strings('t.strs', ['a', 'bc', '']).f32s('t.f32s', [1, 2, 3]).u8s('t.u8s', [1, 2])
    .arrays('t.nested', [ggufArray(GGUFValueType.UINT32, [1, 2]), ggufArray(GGUFValueType.UINT32, [])]);
  const q8 = new Uint8Array(34 * 2);
  return serializeGGUF({
    metadata: m,
    tensors: [
      { name: 'f32', shape: [4, 2], type: GGMLType.F32, data: () => new Uint8Array(32) },
      { name: 'f16', shape: [8], type: GGMLType.F16, data: () => new Uint8Array(16) },
      { name: 'q8', shape: [32, 2], type: GGMLType.Q8_0, data: () => q8 },
    ],
  });
}

export function seedCorpus(): { name: string; bytes: Uint8Array }[] {
  return [
    { name: 'llama-spm.gguf', bytes: decoder('llama', 1) },
    { name: 'qwen2-bpe.gguf', bytes: decoder('qwen2', 2) },
    { name: 'kitchen-sink.gguf', bytes: kitchenSink() },
  ];
}
