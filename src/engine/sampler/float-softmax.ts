// The softmax and the draw of llama.cpp's samplers that choose by probability (mirostat, XTC), in its arithmetic:
// float exponentials summed in float (llama_sampler_softmax_impl), and std::discrete_distribution over them.
import type { Candidates } from './candidates.ts';
import type { Mt19937 } from './mt19937.ts';

/** Sorts the live candidates (descending logit) and fills probs[0..size) with their softmax, in float arithmetic. */
export function sortedSoftmaxF32(c: Candidates): void {
  const f = Math.fround;
  const n = c.size;
  if (n === 0) return;
  c.sortTop(n);
  c.sorted = true;
  const logits = c.logits;
  const probs = c.probs; // a Float32Array: every store rounds to float
  const max = logits[0];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    probs[i] = Math.exp(logits[i] - max);
    sum = f(sum + probs[i]);
  }
  for (let i = 0; i < n; i++) probs[i] = probs[i] / sum;
}

/**
 * A position drawn with weights probs[0..n), as libstdc++'s std::discrete_distribution<int>: the weights are
 * normalised in double, their running sums compared with one canonical double (the last sum taken as 1), and the
 * first sum >= the draw wins. With fewer than two weights nothing is drawn and the answer is 0.
 */
export function discreteDraw(probs: Float32Array, n: number, rng: Mt19937): number {
  if (n < 2) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += probs[i];
  const u = rng.nextDouble();
  let cum = 0;
  for (let i = 0; i < n - 1; i++) {
    cum += probs[i] / sum;
    if (cum >= u) return i;
  }
  return n - 1;
}
