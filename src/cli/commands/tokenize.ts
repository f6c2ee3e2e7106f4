// hearth tokenize MODEL.gguf|tokenizer.json (--text "…" | --file F | --jsonl F) [--no-bos] [--parse-special] [--json]
// hearth detokenize MODEL ID…

import { readFileSync } from 'node:fs';
import { parse, modelPath } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { loadTokenizer } from '../../tokenizer/index.ts';
import type { Tokenizer } from '../../tokenizer/types.ts';
import type { Command } from '../main.ts';

/** A path to a tokenizer.json is taken as is; anything else is a model path or name. */
function tokenizerFor(arg: string | undefined): Tokenizer {
  if (arg && arg.toLowerCase().endsWith('.json')) return loadTokenizer(arg);
  return loadTokenizer(process.env.HEARTH_TOKENIZER ?? modelPath(arg));
}

const TOKENIZE_HELP = `Usage: hearth tokenize MODEL.gguf|tokenizer.json (--text "…" | --file F | --jsonl F) [--no-bos] [--parse-special] [--json]

  --text T | --file F   the text to tokenize
  --jsonl F             one JSON string per line; prints one {"ids": […]} line each
  --no-bos              do not add BOS (by default the vocabulary decides)
  --parse-special       GGUF vocabularies: turn control-token text such as <|im_end|> or </s> into its
                        id (llama.cpp --parse-special); without it, that text is tokenized as text
                        (user-defined tokens are matched either way).
                        tokenizer.json: added tokens (special or not) are always matched, as Hugging Face
                        tokenizers does, unless tokenizer_config.json sets split_special_tokens; this
                        flag then matches the special ones anyway.
  --json                print {"ids": […]} instead of space-separated ids
`;

export const tokenize: Command = {
  summary: 'print the token ids of a text',
  async run(argv) {
    const { values: v, positionals } = parse(argv, {
      text: { type: 'string' }, file: { type: 'string' }, jsonl: { type: 'string' },
      'no-bos': { type: 'boolean' }, 'parse-special': { type: 'boolean' }, json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      process.stdout.write(TOKENIZE_HELP);
      return 0;
    }
    const sources = [v.text, v.file, v.jsonl].filter((x) => x !== undefined).length;
    if (sources !== 1) throw new HearthError('invalid_argument', 'give exactly one of --text, --file, --jsonl');
    if (positionals.length > 1) throw new HearthError('invalid_argument', `unexpected arguments: ${positionals.slice(1).join(' ')}`);
    const tok = tokenizerFor(positionals[0]);
    const opts = { addBos: v['no-bos'] ? false : undefined, parseSpecial: v['parse-special'] ?? false };
    if (v.jsonl !== undefined) {
      const lines = readFileSync(v.jsonl, 'utf8').split('\n');
      if (lines.at(-1) === '') lines.pop();
      const out: string[] = [];
      lines.forEach((line, i) => {
        let text: unknown;
        try {
          text = JSON.parse(line);
        } catch {
          throw new HearthError('invalid_argument', `${v.jsonl}:${i + 1}: not a JSON-encoded string`);
        }
        if (typeof text !== 'string') throw new HearthError('invalid_argument', `${v.jsonl}:${i + 1}: expected a JSON string`);
        out.push(JSON.stringify({ ids: tok.encode(text, opts) }));
      });
      process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
      return 0;
    }
    const text = v.text ?? readFileSync(v.file as string, 'utf8');
    const ids = tok.encode(text, opts);
    process.stdout.write(v.json ? JSON.stringify({ ids }) + '\n' : ids.join(' ') + '\n');
    return 0;
  },
};

export const detokenize: Command = {
  summary: 'print the text of token ids',
  async run(argv) {
    const { values: v, positionals } = parse(argv, { special: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
    if (v.help || positionals.length === 0) {
      process.stdout.write('Usage: hearth detokenize MODEL.gguf|tokenizer.json ID… [--special]\n');
      return v.help ? 0 : 1;
    }
    const [model, ...rest] = positionals;
    const tok = tokenizerFor(model);
    const ids = rest.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean).map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0 || n >= tok.vocabSize) {
        throw new HearthError('invalid_argument', `"${s}" is not a token id of this vocabulary (0..${tok.vocabSize - 1})`);
      }
      return n;
    });
    process.stdout.write(tok.decode(ids, { skipSpecial: !v.special }) + '\n');
    return 0;
  },
};
