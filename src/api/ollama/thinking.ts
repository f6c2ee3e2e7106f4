// Ollama's `think: true` answer: the model's reasoning (Qwen3 writes it between <think> and </think> before the
// reply) goes to `thinking`, the rest to `content` / `response`, as Ollama splits it. Streamed text arrives in
// pieces, so a tag cut across two deltas is held back until it is whole.

export interface ThinkingParts {
  thinking: string;
  content: string;
}

/** Longest suffix of `text` that is a proper prefix of `tag` (a tag that may be completed by the next piece). */
function partialTag(text: string, tag: string): number {
  for (let n = Math.min(text.length, tag.length - 1); n > 0; n--) if (tag.startsWith(text.slice(-n))) return n;
  return 0;
}

export class ThinkingSplitter {
  private state: 'start' | 'thinking' | 'content' = 'start';
  private pending = '';
  /** Whitespace right after a tag is dropped (Ollama trims both parts at the tags). */
  private trimNext = false;

  private readonly open: string;
  private readonly close: string;

  constructor(open = '<think>', close = '</think>') {
    this.open = open;
    this.close = close;
  }

  /** The next piece of generated text, split; text that may still turn out to be a tag is kept for later. */
  push(text: string): ThinkingParts {
    const out: ThinkingParts = { thinking: '', content: '' };
    this.pending += text;
    for (;;) {
      if (this.trimNext) {
        this.pending = this.pending.trimStart();
        if (this.pending === '') return out;
        this.trimNext = false;
      }
      if (this.state === 'start') {
        const lead = this.pending.trimStart();
        if (lead.startsWith(this.open)) {
          this.pending = lead.slice(this.open.length);
          this.state = 'thinking';
          this.trimNext = true;
          continue;
        }
        if (this.open.startsWith(lead)) return out; // whitespace or part of the tag so far
        this.state = 'content';
      }
      if (this.state === 'thinking') {
        const end = this.pending.indexOf(this.close);
        if (end >= 0) {
          out.thinking += this.pending.slice(0, end);
          this.pending = this.pending.slice(end + this.close.length);
          this.state = 'content';
          this.trimNext = true;
          continue;
        }
        const keep = partialTag(this.pending, this.close);
        out.thinking += this.pending.slice(0, this.pending.length - keep);
        this.pending = this.pending.slice(this.pending.length - keep);
        return out;
      }
      out.content += this.pending;
      this.pending = '';
      return out;
    }
  }

  /** What is held back, once the text has ended (an unclosed think block is all thinking). */
  end(): ThinkingParts {
    const rest = this.pending;
    this.pending = '';
    if (this.state === 'thinking') return { thinking: rest, content: '' };
    return { thinking: '', content: this.trimNext ? rest.trimStart() : rest };
  }

  /** A whole text at once. */
  static split(text: string): ThinkingParts {
    const s = new ThinkingSplitter();
    const a = s.push(text);
    const b = s.end();
    return { thinking: a.thinking + b.thinking, content: a.content + b.content };
  }
}
