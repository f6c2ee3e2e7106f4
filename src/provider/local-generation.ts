// A NativeRequest on a local model: prompt tokens from its inputs, one scheduler job per choice, and the jobs'
// events merged into NativeEvents (streamed) or ChoiceResults.

import { randomBytes } from 'node:crypto';
import { chatTextTokens, rawPromptTokens, renderChat, tokenText } from '../chat/prompt.ts';
import type { VisionPrompt } from './vision-prompt.ts';
import type { PromptImage } from '../engine/types.ts';
import { detectToolFamily, genericToolMessages, type ToolFamily } from '../chat/tools.ts';
import { infillTokens, requireFimTokens } from '../engine/infill.ts';
import { promptOpensReasoning, templateReasons, ToolCallStreamParser, type ToolStreamEvent } from '../chat/tool-parsers.ts';
import { HearthError } from '../util/errors.ts';
import { FieldError } from '../api/validate.ts';
import { lazyToolGrammar, toolChoiceGrammar } from './tool-grammar.ts';
import type { ModelInfo } from '../engine/model-info.ts';
import type { ChoiceResult, NativeEvent, NativeRequest, NativeToolCall, PromptInput, TokenInfo } from '../api/native.ts';
import type { TokenLogprob } from '../engine/sampler/index.ts';
import { Channel } from '../util/channel.ts';
import type { JobEvent, JobSpec } from '../engine/scheduler.ts';
import type { Generation } from './types.ts';

/**
 * Prompt token ids. Chat messages go through the model's template; when the last message is the assistant's,
 * the reply continues it (prefill): the template renders the earlier turns plus the assistant header, and the
 * partial reply follows verbatim. An infill prompt is cut to fit `nPredict` generated tokens (engine/infill.ts).
 */
export function promptTokens(model: ModelInfo, input: PromptInput, nPredict = 0): number[] {
  const tok = model.tokenizer;
  switch (input.kind) {
    case 'tokens':
      return input.tokens;
    case 'text': {
      if (!input.context?.length) return rawPromptTokens(tok, input.text);
      return [...input.context, ...tok.encode(input.text, { addBos: false, parseSpecial: false })];
    }
    case 'infill': {
      const fim = requireFimTokens(model.metadata, tok, model.name);
      const nBatch = Math.min(model.options.nBatch ?? 512, model.nCtx);
      return infillTokens(tok, fim, input, { nCtx: model.nCtx, nBatch, nPredict });
    }
    case 'chat': {
      const { text, templated } = chatPromptText(model, input);
      return templated ? chatTextTokens(tok, text) : rawPromptTokens(tok, text);
    }
  }
}

/**
 * The text a chat prompt becomes before tokenizing (llama-server's /apply-template): the template's rendering
 * (with the prefill rule above), or, for a model without a template, the contents joined as a raw prompt.
 */
export function chatPromptText(model: ModelInfo, input: PromptInput & { kind: 'chat' }): { text: string; templated: boolean } {
  const msgs = input.messages;
  // tool_choice "none": the model is not told of the tools, so it cannot call them.
  const tools = input.toolChoice === 'none' ? undefined : input.tools;
  const last = msgs.at(-1);
  if (last?.role === 'assistant' && model.chatTemplate && msgs.length > 1) {
    const head = renderChat(model, msgs.slice(0, -1), true, input.templateVars, tools)!;
    return { text: head + last.content, templated: true };
  }
  const rendered = renderChat(model, msgs, true, input.templateVars, tools);
  if (rendered !== undefined) return { text: rendered, templated: true };
  // No template, so no tool syntax either: the generic convention's note and JSON go into the joined text.
  const plain = tools && tools.length > 0 ? genericToolMessages(msgs, tools) : msgs;
  return { text: plain.map((m) => m.content).join('\n'), templated: false };
}

function promptText(model: ModelInfo, input: PromptInput, tokens: number[]): string {
  return input.kind === 'text' && !input.context?.length ? input.text : model.tokenizer.decode(tokens);
}

/**
 * The prompt's tool setup: the grammar that forces a call (required / named) or, in auto mode, holds calls to
 * their syntax once begun (lazy, with its triggers), and a parser per choice.
 */
interface ToolPlan {
  grammar: string | undefined;
  triggers?: string[];
  parser: () => ToolCallStreamParser;
}

function toolPlan(model: ModelInfo, input: PromptInput, prompt: number[], req: NativeRequest): ToolPlan | undefined {
  if (input.kind !== 'chat') return undefined;
  const family = detectToolFamily(model.chatTemplate);
  const startInReasoning = promptOpensReasoning(model.tokenizer.decode(prompt));
  if (!input.tools?.length || input.toolChoice === 'none') {
    if (!input.splitReasoning || !templateReasons(model.chatTemplate)) return undefined;
    return { grammar: undefined, parser: () => new ToolCallStreamParser(family, { startInReasoning, calls: false }) };
  }
  const choice = input.toolChoice ?? 'auto';
  const single = input.parallelToolCalls === false;
  const grammar = toolChoiceGrammar(family, input.tools, choice, { template: model.chatTemplate, single, openReasoning: startInReasoning });
  if (grammar !== undefined && req.sampling.grammar !== undefined) {
    throw new HearthError('invalid_argument',
      'a tool_choice that forces a call constrains the output, and so does the request\'s grammar / response format: send one');
  }
  // In auto mode a response format's grammar shapes the whole reply, and then calls are read as written.
  const lazy = grammar === undefined && req.sampling.grammar === undefined
    ? lazyToolGrammar(family, input.tools, { template: model.chatTemplate, single }) : undefined;
  // Under a call grammar a begun call is a call, so its arguments can stream as they are written.
  const streamCalls = grammar !== undefined || lazy !== undefined;
  return {
    grammar: grammar ?? lazy?.grammar, ...(lazy ? { triggers: lazy.triggers } : {}),
    parser: () => new ToolCallStreamParser(family, { startInReasoning, streamCalls }),
  };
}

/**
 * An id for a call the model made without one. Mistral's templates check that the ids in a history are 9
 * letters and digits (as its models write them), so Mistral calls get such an id.
 */
export function callId(family?: ToolFamily): string {
  const alnum = randomBytes(12).toString('base64url').replace(/[-_]/g, 'x');
  return family === 'mistral' ? alnum.slice(0, 9) : 'call_' + alnum;
}

/** A choice's parse so far: content, reasoning and calls read out of its text. */
class ToolReader {
  readonly parser: ToolCallStreamParser;
  content = '';
  reasoning: string | undefined;
  readonly calls: NativeToolCall[] = [];
  /** Calls begun and not yet ended, by the parser's index (a call cut short stays here, out of the result). */
  private readonly open = new Map<number, NativeToolCall>();

  constructor(parser: ToolCallStreamParser) {
    this.parser = parser;
  }

  /**
   * The events for a parse step: reasoning, then the content delta (which carries the step's `tokens`, with
   * empty text where the step settled no content, so every token still reaches a delta), then the calls'
   * pieces and ends.
   */
  events(index: number, evs: ToolStreamEvent[], tokens: TokenInfo[]): NativeEvent[] {
    let text = '';
    let thought = '';
    const out: NativeEvent[] = [];
    for (const e of evs) {
      if (e.type === 'content') text += e.text;
      else if (e.type === 'reasoning') thought += e.text;
      else if (e.type === 'tool_call_start') {
        const call = { id: e.id ?? callId(this.parser.family), name: e.name, arguments: '' };
        this.open.set(e.index, call);
        out.push({ type: 'tool_call_delta', index, call: e.index, id: call.id, name: call.name, arguments: '' });
      } else if (e.type === 'tool_call_args') {
        this.open.get(e.index)!.arguments += e.text;
        const last = out.at(-1);
        if (last?.type === 'tool_call_delta' && last.call === e.index && last.name === undefined) last.arguments += e.text;
        else out.push({ type: 'tool_call_delta', index, call: e.index, arguments: e.text });
      } else {
        const call = this.open.get(e.index)!;
        this.open.delete(e.index);
        out.push({ type: 'tool_call', index, call: e.index, ...call });
        this.calls.push(call);
      }
    }
    this.content += text;
    if (thought) this.reasoning = (this.reasoning ?? '') + thought;
    const head: NativeEvent[] = [];
    if (thought) head.push({ type: 'reasoning', index, text: thought });
    if (text || tokens.length) head.push({ type: 'delta', index, text, tokens });
    return [...head, ...out];
  }
}

/** A maxTokens the client asked for that the context cannot hold after the longest prompt (maxTokensParam). */
function checkMaxTokens(model: ModelInfo, req: NativeRequest, prompts: readonly number[][]): void {
  const param = req.maxTokensParam;
  if (param === undefined || req.maxTokens === undefined) return;
  const window = Math.min(req.numCtx ?? model.nCtx, model.nCtx);
  const longest = Math.max(...prompts.map((p) => p.length));
  // A prompt that alone fills the window gets the scheduler's own error, about the prompt.
  if (longest >= window || longest + req.maxTokens <= window) return;
  throw new FieldError(param, `${param} is ${req.maxTokens}: the prompt (${longest} tokens) + ${param} exceeds the context of ` +
    `${window} tokens; at most ${Math.max(window - longest, 0)} tokens can be generated`, 'context_length_exceeded');
}

/** Queues scheduler jobs (all or none), rejecting when they cannot be; events follow through onEvent. */
export type SubmitJobs = (specs: JobSpec[], onEvent: (index: number, ev: JobEvent) => void) => Promise<void>;

/**
 * Tokenizes, checks and queues a request: every error a client can cause (unknown field values, prompt too
 * long, queue full) rejects here, before any response byte is sent.
 */
/**
 * Prompt ids and image positions of a prompt with images (its markers where they go): chat through the template as
 * promptTokens renders it, text as it is; the BOS rule of chatTextTokens.
 */
function imagePromptTokens(model: ModelInfo, input: PromptInput, vision: VisionPrompt, pixels: Float32Array[]): { prompt: number[]; images: PromptImage[] } {
  const tok = model.tokenizer;
  let text: string;
  if (input.kind === 'chat') text = chatPromptText(model, input).text;
  else if (input.kind === 'text') text = input.text;
  else throw new HearthError('invalid_argument', `a ${input.kind} prompt cannot carry images`);
  const bos = tokenText(tok, tok.bosId);
  const got = vision.tokens(tok, text, pixels, tok.addBos && !(bos && text.startsWith(bos)));
  if (input.kind === 'text' && input.context?.length) {
    return { prompt: [...input.context, ...got.prompt], images: got.images.map((img) => ({ ...img, pos: img.pos + input.context!.length })) };
  }
  return got;
}

/** Images of each prompt, preprocessed (LocalProvider does it before generation), with the encoder's facts. */
export interface PromptPixels {
  vision: VisionPrompt;
  /** Per prompt of the request: its images' pixels (empty: none). */
  pixels: Float32Array[][];
}

export async function startGeneration(model: ModelInfo, loadMs: number, submit: SubmitJobs, req: NativeRequest,
  signal?: AbortSignal, withImages?: PromptPixels): Promise<Generation> {
  const t0 = performance.now();
  const imageSpecs = req.prompts.map((p, i) => (withImages?.pixels[i]?.length ? imagePromptTokens(model, p, withImages.vision, withImages.pixels[i]) : undefined));
  const prompts = req.prompts.map((p, i) => imageSpecs[i]?.prompt ?? promptTokens(model, p, req.maxTokens));
  const plans = req.prompts.map((p, i) => toolPlan(model, p, prompts[i], req));
  checkMaxTokens(model, req, prompts);
  const specs: JobSpec[] = [];
  const readers: (ToolReader | undefined)[] = [];
  const echo: string[] = [];
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  prompts.forEach((prompt, p) => {
    for (let j = 0; j < req.n; j++) {
      const seed = req.sampling.seed;
      const plan = plans[p];
      const grammar = plan?.grammar ?? req.sampling.grammar;
      const triggers = plan?.triggers;
      readers.push(plan ? new ToolReader(plan.parser()) : undefined);
      specs.push({
        prompt,
        ...(imageSpecs[p] ? { images: imageSpecs[p].images } : {}),
        maxTokens: req.maxTokens,
        sampling: {
          ...req.sampling, seed: seed === undefined || j === 0 ? seed : (seed + j) >>> 0, ...(grammar !== undefined ? { grammar } : {}),
          ...(triggers ? { grammarTriggers: triggers } : {}),
        },
        stop: req.stop,
        logprobs: req.logprobs,
        nCtx: req.numCtx,
        signal: controller.signal,
      });
      echo.push(req.echo ? promptText(model, req.prompts[p], prompt) : '');
    }
  });

  const channel = new Channel<NativeEvent>();
  const texts = echo.slice();
  const tokens: number[][] = specs.map(() => []);
  const infos: TokenInfo[][] = specs.map(() => []);
  let firstTokenMs: number | undefined;
  const lastTokenAt: (number | undefined)[] = specs.map(() => undefined);
  const gaps: number[][] = specs.map(() => []);
  let open = specs.length;
  const piece = (id: number) => model.tokenizer.tokenToPiece(id);
  const info = (id: number, lp: TokenLogprob | undefined): TokenInfo => lp === undefined ? { id, piece: piece(id) }
    : { id, piece: piece(id), logprob: lp.logprob, top: lp.top.map((t) => ({ id: t.id, piece: piece(t.id), logprob: t.logprob })) };

  const onEvent = (index: number, ev: JobEvent) => {
    switch (ev.type) {
      case 'token': {
        const at = performance.now();
        firstTokenMs ??= at - t0;
        const last = lastTokenAt[index];
        if (last !== undefined) gaps[index].push(at - last);
        lastTokenAt[index] = at;
        const ti = info(ev.id, ev.logprob);
        tokens[index].push(ev.id);
        if (ev.logprob) infos[index].push(ti);
        texts[index] += ev.text;
        const reader = readers[index];
        if (reader) for (const e of reader.events(index, reader.parser.push(ev.text), [ti])) channel.push(e);
        else channel.push({ type: 'delta', index, text: ev.text, tokens: [ti] });
        break;
      }
      case 'text': {
        texts[index] += ev.text;
        const reader = readers[index];
        if (reader) for (const e of reader.events(index, reader.parser.push(ev.text), [])) channel.push(e);
        else channel.push({ type: 'delta', index, text: ev.text, tokens: [] });
        break;
      }
      case 'done': {
        const p = Math.floor(index / req.n);
        const reader = readers[index];
        if (reader) for (const e of reader.events(index, reader.parser.finish(), [])) channel.push(e);
        const called = reader !== undefined && reader.calls.length > 0 && ev.reason !== 'length';
        channel.push({
          type: 'done',
          index,
          result: {
            index,
            promptIndex: p,
            text: reader ? echo[index] + reader.content : texts[index],
            ...(reader ? { toolCalls: reader.calls } : {}),
            ...(reader?.reasoning !== undefined ? { reasoning: reader.reasoning } : {}),
            tokens: tokens[index],
            logprobs: req.logprobs === undefined ? undefined : infos[index],
            reason: called ? 'tool_calls' : ev.reason,
            stopSequence: ev.stopSequence,
            usage: ev.usage,
            timings: { ...ev.timings, totalMs: performance.now() - t0, firstTokenMs, loadMs, tokenGapsMs: gaps[index] },
            promptTokens: prompts[p],
          },
        });
        if (--open === 0) {
          signal?.removeEventListener('abort', onAbort);
          channel.end();
        }
        break;
      }
      case 'error':
        // One failed choice fails the request; the others stop too.
        signal?.removeEventListener('abort', onAbort);
        channel.end(ev.error);
        controller.abort();
        break;
    }
  };
  try {
    await submit(specs, onEvent);
  } catch (e) {
    signal?.removeEventListener('abort', onAbort);
    throw e;
  }
  channel.onReturn = () => controller.abort();
  echo.forEach((text, index) => {
    if (text) channel.push({ type: 'delta', index, text, tokens: [] });
  });

  return {
    promptTokens: prompts.map((p) => p.length),
    events: channel,
    async collect() {
      const results: ChoiceResult[] = [];
      for await (const ev of channel) if (ev.type === 'done') results[ev.index] = ev.result;
      return results;
    },
  };
}
