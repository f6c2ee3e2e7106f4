// The sampler interface (llama.cpp's llama_sampler_i) and the chain, which is itself a sampler: each link
// transforms the candidate set in turn and the last one (greedy or dist) picks a position.
import { HearthError } from '../../util/errors.ts';
import { Candidates } from './candidates.ts';
import { tokenLogprobs, type TokenLogprob } from './token-info.ts';

export interface Sampler {
  readonly name: string;
  /** Transforms the candidates in place; a selecting sampler sets `c.selected`. */
  apply(c: Candidates): void;
  /** Records a token that entered the sequence (prompt or generated); used by stateful samplers. */
  accept?(token: number): void;
  /** Forgets accepted history and restarts random state. */
  reset?(): void;
  /** An independent copy with the same settings and current state. */
  clone(): Sampler;
  /** The seed in use, for samplers that draw at random. */
  readonly seed?: number;
}

/** What sampleWithInfo reports: the token, and log-probabilities from the raw logits (see token-info.ts). */
export interface SampledToken extends TokenLogprob {
  token: number;
}

export class SamplerChain implements Sampler {
  readonly name = 'chain';
  readonly samplers: readonly Sampler[];
  /** The candidate set after the last sample() call, for inspection. */
  readonly candidates = new Candidates();

  constructor(samplers: Sampler[]) {
    this.samplers = samplers;
  }

  /** The seed of the chain's random draw (reported back to API callers); undefined when greedy. */
  get seed(): number | undefined {
    for (const s of this.samplers) if (s.seed !== undefined) return s.seed;
    return undefined;
  }

  apply(c: Candidates): void {
    for (const s of this.samplers) s.apply(c);
  }

  /**
   * Feeds a token into every stateful link (the penalty window). sample() does NOT accept on its own:
   * call accept() for each prompt token (as llama-server does) and for each generated token.
   */
  accept(token: number): void {
    for (const s of this.samplers) s.accept?.(token);
  }

  acceptAll(tokens: ArrayLike<number>): void {
    for (let i = 0; i < tokens.length; i++) this.accept(tokens[i]);
  }

  reset(): void {
    for (const s of this.samplers) s.reset?.();
  }

  clone(): SamplerChain {
    return new SamplerChain(this.samplers.map((s) => s.clone()));
  }

  /** Runs the chain over a full-vocabulary logits vector (left unmodified) and returns the chosen token. */
  sample(logits: Float32Array): number {
    const c = this.candidates;
    c.load(logits);
    this.apply(c);
    if (c.selected < 0 || c.selected >= c.size) {
      throw new HearthError('internal', `sampler chain [${this.samplers.map((s) => s.name).join(', ')}] ` +
        'selected no token: it must end with greedy or dist');
    }
    return c.ids[c.selected];
  }

  /**
   * sample() plus the chosen token's log-probability and the topN most likely alternatives, all taken
   * from the log-softmax of the raw logits (before penalties, truncation and temperature), which is
   * what OpenAI's `logprobs` and llama-server's default `n_probs` report.
   */
  sampleWithInfo(logits: Float32Array, topN: number): SampledToken {
    const token = this.sample(logits);
    return { token, ...tokenLogprobs(logits, token, topN) };
  }
}
