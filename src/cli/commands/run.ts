// hearth run MODEL --prompt "…": stream generated text to stdout; logs and timings go to stderr.

import { parse, int, num, modelPath, libraryModel } from '../args.ts';
import { readOllamaOptions } from '../../api/ollama/options.ts';
import { Fields } from '../../api/validate.ts';
import { loadModel } from '../../engine/load.ts';
import { Context } from '../../engine/context.ts';
import { generate } from '../../engine/generate.ts';
import { chatPromptTokens, rawPromptTokens, tokenText } from '../../chat/prompt.ts';
import { IMAGE_MARKER } from '../../chat/media.ts';
import { VisionPrompt } from '../../provider/vision-prompt.ts';
import { chatPromptText } from '../../provider/local-generation.ts';
import { HearthError } from '../../util/errors.ts';
import type { BackendName, PromptImage } from '../../engine/types.ts';
import type { ChatMessage } from '../../chat/template.ts';
import { mmprojBeside, mmprojPathFor } from '../../library/mmproj.ts';
import { basename } from 'node:path';
import type { Command } from '../main.ts';

const HELP = `Usage: hearth run [MODEL] --prompt "…" [options]

  -p, --prompt TEXT       the prompt (or --file F)
  -f, --file F            read the prompt from a file
  -n, --max-tokens N      tokens to generate (default 256; -1 = until end of generation)
      --temp T            temperature (default 0.8; 0 = greedy)
      --seed S            sampling seed (same seed, same text)
      --top-k K, --top-p P, --min-p P, --repeat-penalty R, --repeat-last-n N,
      --frequency-penalty F, --presence-penalty P
      --stop TEXT         stop before this text (repeatable)
      --system TEXT       system message (chat models)
      --raw               skip the chat template: tokenize the prompt as it is
  -c, --ctx N             context size (default: the model's, at most 4096)
      --tokenizer PATH    a tokenizer.json replacing the model's vocabulary (or HEARTH_TOKENIZER)
      --mmproj FILE       a vision encoder (mmproj GGUF) for the model (default: NAME.mmproj.gguf beside it, if there)
      --image FILE        an image the prompt is about (repeatable; needs --mmproj)
      --backend B         cpu (default: WebAssembly SIMD), ref (plain TypeScript), webgpu
      --threads N
`;

export const command: Command = {
  summary: 'generate text from a prompt',
  async run(argv) {
    const { values: v, positionals } = parse(argv, {
      prompt: { type: 'string', short: 'p' }, file: { type: 'string', short: 'f' },
      'max-tokens': { type: 'string', short: 'n' }, temp: { type: 'string' }, seed: { type: 'string' },
      'top-k': { type: 'string' }, 'top-p': { type: 'string' }, 'min-p': { type: 'string' },
      'repeat-penalty': { type: 'string' }, 'repeat-last-n': { type: 'string' },
      'frequency-penalty': { type: 'string' }, 'presence-penalty': { type: 'string' },
      stop: { type: 'string', multiple: true }, system: { type: 'string' }, raw: { type: 'boolean' },
      ctx: { type: 'string', short: 'c' }, tokenizer: { type: 'string' }, backend: { type: 'string' }, threads: { type: 'string' },
      mmproj: { type: 'string' }, image: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length > 1) throw new HearthError('invalid_argument', `unexpected arguments: ${positionals.slice(1).join(' ')}`);
    let prompt = v.prompt;
    if (v.file !== undefined) prompt = (await import('node:fs')).readFileSync(v.file, 'utf8');
    if (prompt === undefined) throw new HearthError('invalid_argument', 'give a prompt with --prompt "…" or --file F');
    // a preset's system prompt and parameters are the defaults the flags override (as the server applies them)
    const preset = libraryModel(positionals[0])?.preset;
    const d = readOllamaOptions(preset?.parameters ? new Fields(preset.parameters) : undefined);
    const system = v.system ?? preset?.system;
    const maxTokens = num(v['max-tokens'], '-n', (n) => Number.isInteger(n) && n >= -1) ?? d.maxTokens ?? 256;

    const path = modelPath(positionals[0]);
    // the vision encoder: --mmproj, else one beside the model (NAME.mmproj.gguf, as hearth pull writes it)
    const mmproj = v.mmproj ?? mmprojBeside(path);
    const model = loadModel(path, {
      nCtx: int(v.ctx, '--ctx', 1) ?? d.numCtx,
      backend: v.backend as BackendName | undefined,
      threads: int(v.threads, '--threads', 1),
      tokenizerPath: v.tokenizer ?? process.env.HEARTH_TOKENIZER,
      mmproj,
    });
    process.stderr.write(`hearth: loaded ${model.name} (${model.arch}, ${(model.paramCount / 1e6).toFixed(2)}M params, ` +
      `ctx ${model.nCtx}, backend ${model.backend.name}) in ${model.loadMs.toFixed(0)} ms\n`);

    const imageFiles = v.image ?? [];
    if (imageFiles.length > 0 && !mmproj) throw new HearthError('invalid_argument', `--image needs --mmproj FILE (the vision encoder of the model; none is beside it as ${basename(mmprojPathFor(path))})`);
    let tokens: number[];
    let images: PromptImage[] | undefined;
    if (imageFiles.length > 0) {
      const { readFileSync } = await import('node:fs');
      const vision = VisionPrompt.open(mmproj!, model.hp.nEmbd);
      const pixels = await vision.pixels(imageFiles.map((f) => ({ data: new Uint8Array(readFileSync(f)) })));
      const text = imageFiles.map(() => `${IMAGE_MARKER}\n`).join('') + prompt;
      const messages: ChatMessage[] = [];
      if (system !== undefined) messages.push({ role: 'system', content: system });
      messages.push({ role: 'user', content: text });
      const rendered = v.raw || !model.chatTemplate ? text : chatPromptText(model, { kind: 'chat', messages }).text;
      const bos = tokenText(model.tokenizer, model.tokenizer.bosId);
      ({ prompt: tokens, images } = vision.tokens(model.tokenizer, rendered, pixels, model.tokenizer.addBos && !(bos && rendered.startsWith(bos))));
    } else if (v.raw || !model.chatTemplate) {
      tokens = rawPromptTokens(model.tokenizer, prompt);
    } else {
      const messages: ChatMessage[] = [];
      if (system !== undefined) messages.push({ role: 'system', content: system });
      messages.push({ role: 'user', content: prompt });
      tokens = chatPromptTokens(model, messages);
    }

    const ctx = new Context(model);
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      for await (const ev of generate(ctx, {
        prompt: tokens,
        images,
        maxTokens: maxTokens < 0 ? undefined : maxTokens,
        stop: v.stop ?? (d.stop.length ? d.stop : undefined),
        sampling: {
          temperature: num(v.temp, '--temp') ?? d.sampling.temperature,
          seed: int(v.seed, '--seed') ?? d.sampling.seed,
          topK: int(v['top-k'], '--top-k') ?? d.sampling.topK,
          topP: num(v['top-p'], '--top-p') ?? d.sampling.topP,
          minP: num(v['min-p'], '--min-p') ?? d.sampling.minP,
          repeatPenalty: num(v['repeat-penalty'], '--repeat-penalty') ?? d.sampling.repeatPenalty,
          repeatLastN: int(v['repeat-last-n'], '--repeat-last-n') ?? d.sampling.repeatLastN,
          frequencyPenalty: num(v['frequency-penalty'], '--frequency-penalty') ?? d.sampling.frequencyPenalty,
          presencePenalty: num(v['presence-penalty'], '--presence-penalty') ?? d.sampling.presencePenalty,
        },
      }, controller.signal)) {
        if (ev.type === 'done') {
          const { promptTokens, completionTokens } = ev.usage;
          const { promptMs, generateMs } = ev.timings;
          process.stdout.write('\n');
          process.stderr.write(`hearth: prompt ${promptTokens} tokens in ${promptMs.toFixed(0)} ms ` +
            `(${(promptTokens / (promptMs / 1000)).toFixed(1)} t/s); generated ${completionTokens} tokens in ` +
            `${generateMs.toFixed(0)} ms (${(completionTokens / (generateMs / 1000)).toFixed(1)} t/s); stop: ${ev.reason}\n`);
        } else if (ev.text) {
          process.stdout.write(ev.text);
        }
      }
    } finally {
      process.off('SIGINT', onSigint);
    }
    return 0;
  },
};
