// Chat settings from a Hugging Face tokenizer_config.json: the chat template (a string, or a list of
// named templates) and the BOS/EOS token texts (strings or AddedToken objects).

export interface HfChatConfig {
  template?: string;
  bosToken?: string;
  eosToken?: string;
}

function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return undefined;
}

/** Picks template `name` from a list of named templates, falling back to 'default' (as transformers). */
export function chatConfigFromTokenizerConfig(config: unknown, name = 'default'): HfChatConfig {
  const c = (config ?? {}) as Record<string, unknown>;
  let template: string | undefined;
  const t = c.chat_template;
  if (typeof t === 'string') {
    template = t;
  } else if (Array.isArray(t)) {
    const named = new Map<string, string>();
    for (const e of t) {
      if (e && typeof e === 'object' && typeof e.name === 'string' && typeof e.template === 'string') {
        named.set(e.name, e.template);
      }
    }
    template = named.get(name) ?? named.get('default');
  }
  return { template, bosToken: tokenText(c.bos_token), eosToken: tokenText(c.eos_token) };
}
