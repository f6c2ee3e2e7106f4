// llama-server's GET /props, GET /slots and GET /health bodies, from what Hearth knows about a served model: its card,
// its scheduler's slot counts and its file. Per-slot prompts and task ids are not tracked across the engine thread,
// so a slot reports whether it is processing (the busy count fills slots from 0) and its context size.

import type { ModelCard } from '../native.ts';
import type { LlamaErrorBody } from '../errors.ts';
import { generationSettings } from './sampling.ts';

export interface SlotCounts {
  slots: number;
  busy: number;
}

const DEFAULT_SETTINGS = (): Record<string, unknown> =>
  generationSettings({}, { nPredict: undefined, stop: [], stream: false, nProbs: 0, nKeep: 0, postSamplingProbs: false });

/** One slot as /slots lists it. */
export function slotState(id: number, card: ModelCard, processing: boolean): Record<string, unknown> {
  return {
    id,
    id_task: -1,
    n_ctx: card.nCtx,
    speculative: false,
    is_processing: processing,
    params: DEFAULT_SETTINGS(),
    next_token: { has_next_token: processing, has_new_line: false, n_remain: -1, n_decoded: 0, stopping_word: '' },
  };
}

export function slotsResponse(card: ModelCard, counts: SlotCounts): Record<string, unknown>[] {
  return Array.from({ length: counts.slots }, (_, i) => slotState(i, card, i < counts.busy));
}

export interface PropsFacts {
  card: ModelCard;
  counts: SlotCounts;
  version: string;
}

export function propsResponse({ card, counts, version }: PropsFacts): Record<string, unknown> {
  return {
    default_generation_settings: { ...slotState(0, card, false), prompt: '' },
    total_slots: counts.slots,
    model_alias: card.id,
    model_path: card.path ?? '',
    chat_template: card.chatTemplate ?? '',
    chat_template_caps: {},
    modalities: { vision: card.capabilities.vision, audio: false },
    build_info: `hearth-${version}`,
    is_sleeping: false,
  };
}

/** /health's 503 while a model given at start is loading, in llama-server's words. */
export function loadingBody(): LlamaErrorBody {
  return { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } };
}
