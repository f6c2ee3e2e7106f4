// The masks and score transforms of self-attention that newer architectures need (token t at position pos0 + t):
//   causal (default true): key position kpos is visible to query position qpos iff kpos <= qpos; when false every
//     cached position 0 .. pos0 + nTokens - 1 is visible (bert-style encoders).
//   window: sliding-window attention, llama.cpp's LLAMA_SWA_TYPE_STANDARD (src/llama-hparams.h,
//     llama_hparams::is_masked_swa: masked iff p1 - p0 >= n_swa, p0 the key's and p1 the query's position),
//     so kpos is visible iff qpos - kpos < window; it applies on top of the causal mask, and alone when causal
//     is false (keys after the query are then visible, as in llama.cpp).
//   softcap: scores become cap * tanh(score / cap) before the softmax (gemma2's attn_logit_softcapping). The
//     score is q·k * scale: llama.cpp's gemma2 scales q first and soft-caps q·k with kq_scale 1, the same value.
// ./attention.ts applies them.

export interface AttentionOptions {
  /** Default true. */
  causal?: boolean;
  /** Sliding window in positions (llama.cpp n_swa): kpos is visible to qpos iff qpos - kpos < window. */
  window?: number;
  /** Tanh soft-capping of the scores before the softmax. */
  softcap?: number;
}

/** Whether `o` asks for nothing but plain causal attention (what ./attention.ts computes). */
export function isPlainCausal(o: AttentionOptions | undefined): boolean {
  return !o || ((o.causal ?? true) && o.window === undefined && o.softcap === undefined);
}

/** Whether key position kpos is visible to query position qpos under `o`. */
export function visible(qpos: number, kpos: number, o: AttentionOptions = {}): boolean {
  if ((o.causal ?? true) && kpos > qpos) return false;
  if (o.window !== undefined && qpos - kpos >= o.window) return false;
  return true;
}
