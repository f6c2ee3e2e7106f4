// Reference scaling ops: ggml_scale, and the tanh soft-capping gemma2 applies to attention scores and final
// logits (llama.cpp builds it as ggml_scale(1 / cap) -> ggml_tanh -> ggml_scale(cap)), each step in f32.

const fr = Math.fround;

/** x = x * s, n elements (s as an f32, as ggml_scale's parameter). */
export function scale(x: Float32Array, s: number, n = x.length): void {
  const sf = fr(s);
  for (let i = 0; i < n; i++) x[i] = fr(x[i] * sf);
}

/** One soft-capped value: cap * tanh(x / cap), as llama.cpp's scale -> tanh -> scale. */
export function softcapOne(x: number, cap: number): number {
  return fr(fr(Math.tanh(fr(x * fr(1 / fr(cap))))) * fr(cap));
}

/** x = cap * tanh(x / cap), n elements. */
export function softcap(x: Float32Array, cap: number, n = x.length): void {
  for (let i = 0; i < n; i++) x[i] = softcapOne(x[i], cap);
}
