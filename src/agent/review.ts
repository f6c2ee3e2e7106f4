// The second model's review of an action: it is given the task, the code, the diff and the assessor's findings, and
// answers in one fixed JSON shape, {verdict: approve | concerns | reject, reasons: [...]}, held to it by the
// grammar-constrained structured output (a local model) or the upstream's response_format (a gateway route).

import { HearthError } from '../util/errors.ts';
import type { Finding, RiskLevel } from '../assess/types.ts';
import type { ReviewVerdict } from '../assess/policy.ts';
import type { NativeRequest } from '../api/native.ts';
import { schemaGrammar } from '../api/structured-output.ts';
import type { Provider } from '../provider/types.ts';
import type { ActionView, Review } from './types.ts';

const VERDICTS: readonly ReviewVerdict[] = ['approve', 'concerns', 'reject'];

/** The shape every review has. */
export const REVIEW_SCHEMA = {
  type: 'object',
  properties: {
    verdict: { enum: [...VERDICTS] },
    reasons: { type: 'array', items: { type: 'string', maxLength: 120 }, minItems: 1, maxItems: 3 },
  },
  required: ['verdict', 'reasons'],
  additionalProperties: false,
} as const;

const REVIEW_GRAMMAR = schemaGrammar(REVIEW_SCHEMA, 'review');

export interface ReviewInput {
  task: string;
  action: ActionView;
  level: RiskLevel;
  findings: readonly Finding[];
}

const cut = (s: string, n: number) => (s.length > n ? s.slice(0, n) + '\n…(cut)' : s);

/** The reviewer's prompt: what it must judge and how to answer. */
export function reviewMessages(r: ReviewInput): { role: string; content: string }[] {
  const findings = r.findings.length ? r.findings.map((f) => `- ${f.level} ${f.rule} (line ${f.line}): ${f.reason}`).join('\n') : '- none';
  const parts = [
    `Task: ${r.task}`,
    `Action: ${r.action.summary}`,
    ...(r.action.code !== undefined ? [`Code (${r.action.language ?? 'text'}):\n${cut(r.action.code, 4000)}`] : []),
    ...(r.action.diff !== undefined ? [`Diff:\n${cut(r.action.diff, 4000)}`] : []),
    `Risk: ${r.level}\nFindings:\n${findings}`,
  ];
  return [
    {
      role: 'system', content: 'You review one action of a coding assistant before it runs. Answer with JSON only: ' +
        '{"verdict": "approve" | "concerns" | "reject", "reasons": ["..."]}. Approve what serves the task safely; ' +
        'reject what harms the machine, leaks data or does not serve the task; say concerns when a person should decide.',
    },
    { role: 'user', content: parts.join('\n\n') },
  ];
}

/** A review read from the model's text: `invalid_argument` (with the text) when it is not the fixed shape. */
export function parseReview(text: string, model: string): Review {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new HearthError('invalid_argument', `the reviewer ${model} did not answer in JSON: ${text.slice(0, 200)}`);
  }
  const o = v as { verdict?: unknown; reasons?: unknown };
  if (typeof o !== 'object' || o === null || !VERDICTS.includes(o.verdict as ReviewVerdict)) {
    throw new HearthError('invalid_argument', `the reviewer ${model} gave no verdict (approve, concerns or reject): ${text.slice(0, 200)}`);
  }
  if (!Array.isArray(o.reasons) || !o.reasons.every((x) => typeof x === 'string')) {
    throw new HearthError('invalid_argument', `the reviewer ${model} gave no list of reasons: ${text.slice(0, 200)}`);
  }
  return { verdict: o.verdict as ReviewVerdict, reasons: o.reasons as string[], model };
}

/** Asks `provider` to review; the grammar holds a local model to the shape, the schema an upstream one. */
export async function review(provider: Provider, input: ReviewInput, o: { seed?: number; signal?: AbortSignal } = {}): Promise<Review> {
  const request: NativeRequest = {
    model: provider.card.id, prompts: [{ kind: 'chat', messages: reviewMessages(input) }], n: 1, maxTokens: 600,
    sampling: { temperature: 0, grammar: REVIEW_GRAMMAR, ...(o.seed !== undefined ? { seed: o.seed } : {}) },
    stop: [], stream: false, format: { type: 'json_schema', schema: REVIEW_SCHEMA, name: 'review' },
  };
  const [choice] = await (await provider.generate(request, o.signal)).collect();
  if (!choice) throw new HearthError('internal', 'the reviewer gave no choice');
  if (choice.reason === 'length') {
    throw new HearthError('invalid_argument', `the reviewer ${provider.card.id} ran out of tokens before its answer ended: ${choice.text.slice(0, 200)}`);
  }
  return parseReview(choice.text, provider.card.id);
}
