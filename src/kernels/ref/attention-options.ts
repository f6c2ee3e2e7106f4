// The masks and score transforms of self-attention that newer architectures need (token t at position pos0 + t):
//   causal (default true): key position kpos is visible to query position qpos iff kpos <= qpos; when false every
//     cached position 0 .. pos0 + nTokens - 1 is visible (bert-style encoders).
//   window: sliding-window attention, llama.cpp's LLAMA_SWA_TYPE_STANDARD (src/llama-hparams.h,
//     llama_hparams::is_masked_swa: masked iff p1 - p0 >= n_swa, p0 the key's and p1 the query's position),
//     so kpos is visible iff qpos - kpos < window; it applies on top of the causal mask, and alone when causal
//     is false (keys after the query are then visible, as in llama.cpp).
//   softcap: scores become cap * tanh(score / cap) before the softmax (gemma2's attn_logit_softcapping). The
//     score is q·k * scale: llama.cpp's gemma2 scales q first and soft-caps q·k with kq_scale 1, the same value.
//   ring: the caches hold only `size` rows, position p at row p % size (a sliding-window layer's ring, see
//     ../../model/kv-cache.ts): after a pass over positions pos0 .. pos0 + nTokens - 1 the ring holds positions
//     max(0, pos0 + nTokens - size) .. pos0 + nTokens - 1, and every visible key must be among them (so a ring
//     needs a window, and size >= window + nTokens - 1 for causal attention; a pass that asks for an overwritten
//     position is an error, never a silent wrong answer). Without a ring position p sits at row p.
// Every combination sees a contiguous range of key positions per query (keyRange); ./attention.ts applies them.

export interface AttentionOptions {
  /** Default true. */
  causal?: boolean;
  /** Sliding window in positions (llama.cpp n_swa): kpos is visible to qpos iff qpos - kpos < window. */
  window?: number;
  /** Tanh soft-capping of the scores before the softmax. */
  softcap?: number;
  /** The caches are a ring of `size` rows: position p sits at row p % size. */
  ring?: { size: number };
}

/** Whether `o` asks for nothing but plain causal attention (what ./attention.ts computes). */
export function isPlainCausal(o: AttentionOptions | undefined): boolean {
  return !o || ((o.causal ?? true) && o.window === undefined && o.softcap === undefined && o.ring === undefined);
}

/**
 * The key positions [lo, hi] query position qpos sees when the pass covers positions up to nAll - 1: every
 * visible position lies in it and every position in it is visible (causal: hi = qpos; a window: lo > qpos - window).
 */
export function keyRange(qpos: number, nAll: number, o: AttentionOptions = {}): [number, number] {
  const hi = (o.causal ?? true) ? qpos : nAll - 1;
  const lo = o.window !== undefined ? Math.max(0, qpos - o.window + 1) : 0;
  return [lo, hi];
}

/** Rows a cache must have for a pass ending at position nAll - 1: all of them, or the ring's. */
export function cacheRows(nAll: number, o: AttentionOptions | undefined): number {
  return o?.ring ? Math.min(o.ring.size, nAll) : nAll;
}

/** Whether key position kpos is visible to query position qpos under `o`. */
export function visible(qpos: number, kpos: number, o: AttentionOptions = {}): boolean {
  if ((o.causal ?? true) && kpos > qpos) return false;
  if (o.window !== undefined && qpos - kpos >= o.window) return false;
  return true;
}
