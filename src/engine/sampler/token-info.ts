// Log-probabilities for reporting (OpenAI `logprobs`, Ollama `logprobs`): the log-softmax of the model's
// raw logits, independent of the sampling settings, plus the N most likely tokens.

export interface TokenLogprob {
  /** ln P(token) under softmax(raw logits). */
  logprob: number;
  /** The topN most likely tokens under the same distribution, most likely first (ties: lower id first). */
  top: { id: number; logprob: number }[];
}

export function tokenLogprobs(logits: Float32Array, token: number, topN: number): TokenLogprob {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  if (max !== -Infinity) for (let i = 0; i < n; i++) sum += Math.exp(logits[i] - max);
  const logZ = max === -Infinity ? Math.log(n) : max + Math.log(sum);
  const lp = (id: number): number => (max === -Infinity ? -Math.log(n) : logits[id] - logZ);

  const k = Math.max(0, Math.min(Math.floor(topN), n));
  const top: { id: number; logprob: number }[] = [];
  if (k > 0) {
    // Keep the k best ids in a small array sorted best-first; k is small (OpenAI caps it at 20).
    const best: number[] = [];
    const better = (a: number, b: number): boolean => logits[a] > logits[b] || (logits[a] === logits[b] && a < b);
    for (let i = 0; i < n; i++) {
      if (best.length === k && !better(i, best[k - 1])) continue;
      let j = best.length === k ? k - 1 : best.length;
      while (j > 0 && better(i, best[j - 1])) {
        best[j] = best[j - 1];
        j--;
      }
      best[j] = i;
    }
    for (const id of best) top.push({ id, logprob: lp(id) });
  }
  return { logprob: lp(token), top };
}
