// The policy that turns a risk level (and the answers gathered so far) into a decision: by default LOW runs, MEDIUM
// runs when the reviewer model approves, HIGH needs a human, BLOCKED never runs. Pure: the caller gathers the
// reviewer's verdict and the human's answer, calls decide() again with them, and records the decision it returns.

import { HearthError } from '../util/errors.ts';
import { RISK_LEVELS, type RiskLevel } from './types.ts';

/** What a level needs before an action runs, weakest first. */
export type Requirement = 'run' | 'reviewer' | 'human' | 'never';
const STRENGTH: readonly Requirement[] = ['run', 'reviewer', 'human', 'never'];

export type Policy = Readonly<Record<RiskLevel, Requirement>>;
export const DEFAULT_POLICY: Policy = { LOW: 'run', MEDIUM: 'reviewer', HIGH: 'human', BLOCKED: 'never' };

export type ReviewVerdict = 'approve' | 'concerns' | 'reject';

export interface DecisionInput {
  readonly level: RiskLevel;
  /** The reviewer model's answer, once it has given one. */
  readonly review?: { readonly verdict: ReviewVerdict; readonly model: string };
  /** The human's answer, once there is one; a timeout is a denial (`approved: false`, `by: 'timeout'`). */
  readonly human?: { readonly approved: boolean; readonly by: string };
}

export type Decision =
  | { readonly action: 'run'; readonly by: string; readonly reason: string }
  | { readonly action: 'deny'; readonly by: string; readonly reason: string }
  | { readonly action: 'ask_reviewer'; readonly reason: string }
  | { readonly action: 'ask_human'; readonly reason: string };

/**
 * A policy from a workspace's settings (`{ "MEDIUM": "human" }` overrides the default for one level). Checked at
 * load: BLOCKED is always `never`, and a riskier level never needs less than a safer one.
 */
export function parsePolicy(settings: unknown): Policy {
  if (settings === undefined || settings === null) return DEFAULT_POLICY;
  if (typeof settings !== 'object' || Array.isArray(settings)) throw new HearthError('invalid_argument', 'a policy is an object from level to requirement');
  const out: Record<RiskLevel, Requirement> = { ...DEFAULT_POLICY };
  for (const [k, v] of Object.entries(settings)) {
    if (!RISK_LEVELS.includes(k as RiskLevel)) throw new HearthError('invalid_argument', `policy: unknown level ${k} (levels: ${RISK_LEVELS.join(', ')})`);
    if (!STRENGTH.includes(v as Requirement)) throw new HearthError('invalid_argument', `policy: ${k} must be one of ${STRENGTH.join(', ')}; got ${JSON.stringify(v)}`);
    out[k as RiskLevel] = v as Requirement;
  }
  if (out.BLOCKED !== 'never') throw new HearthError('invalid_argument', 'policy: BLOCKED actions never run');
  for (let i = 1; i < RISK_LEVELS.length; i++) {
    const lo = RISK_LEVELS[i - 1]!, hi = RISK_LEVELS[i]!;
    if (STRENGTH.indexOf(out[hi]) < STRENGTH.indexOf(out[lo])) {
      throw new HearthError('invalid_argument', `policy: ${hi} (${out[hi]}) may not need less than ${lo} (${out[lo]})`);
    }
  }
  return out;
}

/** The next step for an action at `input.level`, given what has been answered so far. */
export function decide(policy: Policy, input: DecisionInput): Decision {
  const need = policy[input.level];
  const { review, human } = input;
  if (need === 'never') return { action: 'deny', by: 'policy', reason: `${input.level} actions never run` };
  if (need === 'run') return { action: 'run', by: 'policy', reason: `${input.level} actions run without review` };
  // A reviewer's rejection ends it at any level that asks for review or more; a human is not asked to overrule it.
  if (review?.verdict === 'reject') return { action: 'deny', by: `reviewer:${review.model}`, reason: 'the reviewer rejected it' };
  if (need === 'reviewer') {
    if (!review) return { action: 'ask_reviewer', reason: `${input.level} actions run when the reviewer approves` };
    if (review.verdict === 'approve') return { action: 'run', by: `reviewer:${review.model}`, reason: 'the reviewer approved it' };
    // concerns: a human decides
  }
  if (human) {
    return human.approved
      ? { action: 'run', by: `human:${human.by}`, reason: `${human.by} approved it` }
      : { action: 'deny', by: `human:${human.by}`, reason: human.by === 'timeout' ? 'no answer before the timeout' : `${human.by} denied it` };
  }
  if (need === 'human' && !review) return { action: 'ask_reviewer', reason: 'the reviewer reads it before a human is asked' };
  return { action: 'ask_human', reason: need === 'human' ? `${input.level} actions need a human` : 'the reviewer has concerns' };
}
