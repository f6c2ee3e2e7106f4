// hearth info MODEL: architecture, parameters, tensor types, context, tokenizer, chat template; of every part of a split
// model given its first part.

import { parse, modelPath } from '../args.ts';
import { openGGUFModel } from '../../gguf/split.ts';
import { typeName } from '../../gguf/ggml-types.ts';
import { HearthError } from '../../util/errors.ts';
import type { Command } from '../main.ts';

export interface ModelInfo {
  path: string;
  /** Every file of the model: the path alone, or each part of a split one. */
  parts: string[];
  version: number;
  architecture: string;
  name: string | undefined;
  parameters: number;
  fileBytes: number;
  tensorTypes: Record<string, number>;
  contextLength: number | undefined;
  embeddingLength: number | undefined;
  layers: number | undefined;
  heads: number | undefined;
  kvHeads: number | undefined;
  tokenizer: { model: string | undefined; pre: string | undefined; vocabSize: number; bos: number | undefined; eos: number | undefined };
  chatTemplate: string | undefined;
}

export function modelInfo(path: string): ModelInfo {
  const f = openGGUFModel(path);
  try {
    const md = f.metadata;
    const arch = md.getString('general.architecture', 'unknown');
    const tensorTypes: Record<string, number> = {};
    for (const t of f.tensors) tensorTypes[typeName(t.type)] = (tensorTypes[typeName(t.type)] ?? 0) + 1;
    const n = (k: string) => md.getNumber(`${arch}.${k}`, undefined);
    return {
      path,
      parts: f.parts.map((p) => p.name),
      version: f.parts[0]!.version,
      architecture: arch,
      name: md.getString('general.name', undefined),
      parameters: f.tensors.reduce((s, t) => s + t.nElements, 0),
      fileBytes: f.parts.reduce((s, p) => s + p.size, 0),
      tensorTypes,
      contextLength: n('context_length'),
      embeddingLength: n('embedding_length'),
      layers: n('block_count'),
      heads: n('attention.head_count'),
      kvHeads: n('attention.head_count_kv'),
      tokenizer: {
        model: md.getString('tokenizer.ggml.model', undefined),
        pre: md.getString('tokenizer.ggml.pre', undefined),
        vocabSize: md.getStrings('tokenizer.ggml.tokens', []).length,
        bos: md.getNumber('tokenizer.ggml.bos_token_id', undefined),
        eos: md.getNumber('tokenizer.ggml.eos_token_id', undefined),
      },
      chatTemplate: md.getString('tokenizer.chat_template', undefined),
    };
  } finally {
    f.close();
  }
}

function formatParams(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

export const command: Command = {
  summary: 'describe a GGUF model',
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
    if (values.help) {
      process.stdout.write('Usage: hearth info MODEL [--json]\n');
      return 0;
    }
    if (positionals.length > 1) throw new HearthError('invalid_argument', `unexpected arguments: ${positionals.slice(1).join(' ')}`);
    const info = modelInfo(modelPath(positionals[0]));
    if (values.json) {
      process.stdout.write(JSON.stringify(info) + '\n');
      return 0;
    }
    const lines = [
      `file            ${info.path} (GGUF v${info.version}, ${(info.fileBytes / 1e6).toFixed(2)} MB${info.parts.length > 1 ? ` in ${info.parts.length} parts` : ''})`,
      `architecture    ${info.architecture}${info.name ? ` (${info.name})` : ''}`,
      `parameters      ${formatParams(info.parameters)} (${info.parameters})`,
      `tensor types    ${Object.entries(info.tensorTypes).map(([k, c]) => `${k} × ${c}`).join(', ')}`,
      `context length  ${info.contextLength ?? 'unknown'}`,
      `shape           ${info.layers ?? '?'} layers, ${info.embeddingLength ?? '?'} wide, ${info.heads ?? '?'} heads / ${info.kvHeads ?? info.heads ?? '?'} kv heads`,
      `tokenizer       ${info.tokenizer.model ?? 'none'}${info.tokenizer.pre ? ` (pre ${info.tokenizer.pre})` : ''}, ` +
        `${info.tokenizer.vocabSize} tokens, bos ${info.tokenizer.bos ?? '-'}, eos ${info.tokenizer.eos ?? '-'}`,
      `chat template   ${info.chatTemplate === undefined ? 'none (prompts run raw)' : ''}`,
    ];
    process.stdout.write(lines.join('\n') + '\n' + (info.chatTemplate ?? '') + (info.chatTemplate ? '\n' : ''));
    return 0;
  },
};
