// The chat playground: any served model, a system prompt, sampling controls, streamed replies (OpenAI's chat
// completions stream), stop, regenerate, edit-and-resend, reasoning and tool calls in collapsed sections, speed
// per reply; each turn is kept in a stored conversation (/v1/conversations), listed, searched and resumed from
// the side panel; a vector store can be attached, its best passages going in as context for each question.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, apiOnce, sse, ApiError } from './api.ts';

// The Markdown renderer (marked, DOMPurify, highlight.js) is most of the code: it loads beside the page, not before
// it, and a reply shows as plain text until it is there.
// It is asked for once the chat is usable (or when a reply needs it first), so that its parsing does not hold up
// the first page.
type MarkdownModule = typeof import('./markdown.ts');
let markdown: MarkdownModule | undefined;
let markdownLoad: Promise<MarkdownModule> | undefined;
const markdownReady = (): Promise<MarkdownModule> => (markdownLoad ??= import('./markdown.ts').then((m) => (markdown = m)));

interface ToolCall { id?: string; name: string; arguments: string }

interface Source { filename: string; score: number; text: string }

interface Message {
  role: 'user' | 'assistant';
  content: string;
  reasoning?: string;
  toolCalls?: ToolCall[];
  sources?: Source[];
  /** The stored conversation items of this message (deleted when it is regenerated or edited away). */
  itemId?: string;
  stats?: { tokens?: number; promptTokens?: number; ttftMs?: number; tokensPerSecond?: number; totalMs: number };
  stopped?: boolean;
  error?: string;
}

interface Sampling { temperature: string; top_p: string; top_k: string; max_tokens: string; seed: string }

interface ConversationRow { id: string; created_at: number; metadata: Record<string, string> }

const DEFAULT_SAMPLING: Sampling = { temperature: '0.8', top_p: '0.95', top_k: '40', max_tokens: '256', seed: '' };

function samplingBody(s: Sampling): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(s)) {
    if (v.trim() === '') continue;
    const n = Number(v);
    if (Number.isFinite(n)) out[k] = n;
  }
  return out;
}

function itemText(item: any): string {
  const c = item.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((p: any) => p.text ?? '').join('');
  return '';
}

function Markdown({ text }: { text: string }) {
  const [md, setMd] = useState<MarkdownModule | undefined>(markdown);
  useEffect(() => {
    if (!md) void markdownReady().then((m) => setMd(m));
  }, []);
  const html = useMemo(() => md?.renderMarkdown(text), [text, md]);
  if (html === undefined) return <div class="md"><p class="text">{text}</p></div>;
  return <div class="md" onClick={md!.onCopyClick} dangerouslySetInnerHTML={{ __html: html }} />;
}

function Stats({ m }: { m: Message }) {
  const s = m.stats;
  if (!s) return null;
  const parts: string[] = [];
  if (s.tokens !== undefined) parts.push(`${s.tokens} tokens`);
  if (s.tokensPerSecond !== undefined) parts.push(`${s.tokensPerSecond.toFixed(1)} tokens/s`);
  if (s.ttftMs !== undefined) parts.push(`first token ${Math.round(s.ttftMs)} ms`);
  parts.push(`${(s.totalMs / 1000).toFixed(2)} s`);
  if (m.stopped) parts.push('stopped');
  return <p class="stats" data-testid="stats">{parts.join(' · ')}</p>;
}

export function Chat() {
  const [models, setModels] = useState<string[]>([]);
  const [model, setModel] = useState('');
  const [system, setSystem] = useState('');
  const [sampling, setSampling] = useState<Sampling>(DEFAULT_SAMPLING);
  const [messages, setMessages] = useState<Message[]>([]);
  const [input, setInput] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [conversation, setConversation] = useState<string | null>(null);
  const [conversations, setConversations] = useState<ConversationRow[]>([]);
  const [query, setQuery] = useState('');
  const [stores, setStores] = useState<{ id: string; name: string }[]>([]);
  const [store, setStore] = useState('');
  const [editing, setEditing] = useState<number | null>(null);
  const [editText, setEditText] = useState('');
  const abort = useRef<AbortController | null>(null);
  const log = useRef<HTMLDivElement>(null);

  useEffect(() => {
    apiOnce<{ data: { id: string; capabilities?: string[] }[] }>('/v1/models').then((r) => {
      const chat = r.data.filter((m) => !m.capabilities || m.capabilities.length === 0 || m.capabilities.includes('completion'));
      const ids = chat.map((m) => m.id);
      setModels(ids);
      setModel((cur) => cur || ids[0] || '');
    }, (e: Error) => setError(`models: ${e.message}`));
    api<{ data: { id: string; name: string }[] }>('/v1/vector_stores').then((r) => setStores(r.data), () => setStores([]));
  }, []);

  const loadConversations = (q: string) => {
    const path = q.trim() ? `/v1/conversations?limit=50&q=${encodeURIComponent(q.trim())}` : '/v1/conversations?limit=50';
    api<{ data: ConversationRow[] }>(path).then((r) => setConversations(r.data), () => setConversations([]));
  };
  useEffect(() => {
    const t = setTimeout(() => loadConversations(query), 200);
    return () => clearTimeout(t);
  }, [query]);

  useEffect(() => {
    // the moment the chat is usable: models listed, composer up (bench/ui.ts reads it)
    if (models.length && !performance.getEntriesByName('hearth:chat-ready').length) {
      performance.mark('hearth:chat-ready');
      setTimeout(() => void markdownReady(), 0);
    }
  }, [models]);

  useEffect(() => {
    const el = log.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [messages]);

  const update = (i: number, f: (m: Message) => Message) => setMessages((ms) => ms.map((m, j) => (j === i ? f(m) : m)));

  async function ensureConversation(firstText: string): Promise<string | null> {
    if (conversation) return conversation;
    try {
      const c = await api<{ id: string }>('/v1/conversations', { body: { metadata: { title: firstText.slice(0, 60), model } } });
      setConversation(c.id);
      return c.id;
    } catch {
      return null;
    }
  }

  async function store2(conv: string | null, msgs: Message[], from: number): Promise<string[]> {
    if (!conv) return [];
    try {
      const items = msgs.slice(from).map((m) => ({ type: 'message', role: m.role, content: m.content }));
      const r = await api<{ data: { id: string }[] }>(`/v1/conversations/${conv}/items`, { body: { items } });
      return r.data.map((d) => d.id);
    } catch {
      return [];
    }
  }

  async function forget(conv: string | null, msgs: Message[]): Promise<void> {
    if (!conv) return;
    for (const m of msgs) {
      if (m.itemId) await api(`/v1/conversations/${conv}/items/${m.itemId}`, { method: 'DELETE' }).catch(() => undefined);
    }
  }

  async function context(question: string): Promise<Source[]> {
    if (!store) return [];
    try {
      const r = await api<{ data: { filename: string; score: number; content: { text: string }[] }[] }>(`/v1/vector_stores/${store}/search`,
        { body: { query: question, max_num_results: 4 } });
      return r.data.map((d) => ({ filename: d.filename, score: d.score, text: d.content.map((c) => c.text).join('\n') }));
    } catch {
      return [];
    }
  }

  /** Streams a reply to `history` (ending with the user's message) into a new assistant message. */
  async function generate(history: Message[]) {
    setError('');
    setBusy(true);
    const index = history.length;
    const question = history[history.length - 1]?.content ?? '';
    const sources = await context(question);
    setMessages([...history, { role: 'assistant', content: '', ...(sources.length ? { sources } : {}) }]);
    const wire: { role: string; content: string }[] = [];
    const sys = [system.trim(), sources.length ? `Answer from these passages where they help:\n\n${sources.map((s, i) => `[${i + 1}] ${s.filename}\n${s.text}`).join('\n\n')}` : '']
      .filter(Boolean).join('\n\n');
    if (sys) wire.push({ role: 'system', content: sys });
    for (const m of history) wire.push({ role: m.role, content: m.content });
    const controller = new AbortController();
    abort.current = controller;
    const started = performance.now();
    let first: number | undefined;
    let content = '';
    let reasoning = '';
    const calls: ToolCall[] = [];
    let usage: { completion_tokens?: number; prompt_tokens?: number } | undefined;
    let stopped = false;
    let failure: string | undefined;
    try {
      const body = { model, messages: wire, stream: true, stream_options: { include_usage: true }, ...samplingBody(sampling) };
      for await (const chunk of sse<any>('/v1/chat/completions', body, controller.signal)) {
        if (chunk.usage) usage = chunk.usage;
        const delta = chunk.choices?.[0]?.delta;
        if (!delta) continue;
        if (first === undefined && (delta.content || delta.reasoning_content || delta.tool_calls)) first = performance.now();
        if (delta.content) content += delta.content;
        if (delta.reasoning_content) reasoning += delta.reasoning_content;
        for (const tc of delta.tool_calls ?? []) {
          const at = tc.index ?? calls.length;
          calls[at] ??= { id: tc.id, name: '', arguments: '' };
          if (tc.function?.name) calls[at]!.name += tc.function.name;
          if (tc.function?.arguments) calls[at]!.arguments += tc.function.arguments;
        }
        update(index, (m) => ({ ...m, content, ...(reasoning ? { reasoning } : {}), ...(calls.length ? { toolCalls: [...calls] } : {}) }));
      }
    } catch (e) {
      if ((e as Error).name === 'AbortError') stopped = true;
      else failure = e instanceof ApiError ? e.message : String((e as Error).message ?? e);
    } finally {
      abort.current = null;
    }
    const end = performance.now();
    const tokens = usage?.completion_tokens;
    const genMs = first === undefined ? undefined : end - first;
    const stats = {
      ...(tokens !== undefined ? { tokens } : {}), ...(usage?.prompt_tokens !== undefined ? { promptTokens: usage.prompt_tokens } : {}),
      ...(first !== undefined ? { ttftMs: first - started } : {}),
      ...(tokens !== undefined && genMs !== undefined && genMs > 0 && tokens > 1 ? { tokensPerSecond: (tokens - 1) / (genMs / 1000) } : {}),
      totalMs: end - started,
    };
    const reply: Message = {
      role: 'assistant', content, ...(reasoning ? { reasoning } : {}), ...(calls.length ? { toolCalls: calls } : {}),
      ...(sources.length ? { sources } : {}), stats, ...(stopped ? { stopped } : {}), ...(failure ? { error: failure } : {}),
    };
    if (failure) setError(failure);
    const all = [...history, reply];
    setMessages(all);
    setBusy(false);
    if (!failure) {
      // the new user message (if not stored yet) and the reply
      const conv = await ensureConversation(history[0]?.content ?? question);
      const from = history.at(-1)?.itemId ? history.length : history.length - 1;
      const ids = await store2(conv, all, from);
      if (ids.length) {
        setMessages((ms) => ms.map((m, j) => (j >= from && ids[j - from] ? { ...m, itemId: ids[j - from] } : m)));
        loadConversations(query);
      }
    }
  }

  const send = (e?: Event) => {
    e?.preventDefault();
    const text = input.trim();
    if (!text || busy || !model) return;
    setInput('');
    void generate([...messages, { role: 'user', content: text }]);
  };

  const stop = () => abort.current?.abort();

  const regenerate = async () => {
    if (busy) return;
    const lastUser = messages.map((m) => m.role).lastIndexOf('user');
    if (lastUser < 0) return;
    setBusy(true);
    await forget(conversation, messages.slice(lastUser + 1));
    void generate(messages.slice(0, lastUser + 1));
  };

  const resend = async (i: number) => {
    const text = editText.trim();
    if (!text || busy) return;
    setEditing(null);
    setBusy(true);
    await forget(conversation, messages.slice(i));
    void generate([...messages.slice(0, i), { role: 'user', content: text }]);
  };

  const open = async (id: string) => {
    if (busy) return;
    try {
      const r = await api<{ data: any[] }>(`/v1/conversations/${id}/items?order=asc&limit=100`);
      const c = conversations.find((x) => x.id === id);
      const msgs: Message[] = r.data.filter((i) => i.type === 'message' && (i.role === 'user' || i.role === 'assistant'))
        .map((i) => ({ role: i.role, content: itemText(i), itemId: i.id }));
      setMessages(msgs);
      setConversation(id);
      if (c?.metadata.model && models.includes(c.metadata.model)) setModel(c.metadata.model);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const fresh = () => {
    if (busy) return;
    setMessages([]);
    setConversation(null);
  };

  const remove = async (id: string) => {
    await api(`/v1/conversations/${id}`, { method: 'DELETE' }).catch(() => undefined);
    if (conversation === id) fresh();
    loadConversations(query);
  };

  const field = (k: keyof Sampling, label: string, step: string) => (
    <label class="num">{label}
      <input type="number" step={step} value={sampling[k]} onInput={(e) => setSampling({ ...sampling, [k]: (e.target as HTMLInputElement).value })} />
    </label>
  );

  const lastAssistant = messages.length > 0 && messages[messages.length - 1]!.role === 'assistant';

  return (
    <div class="chat">
      <aside class="side" aria-label="Conversations">
        <button type="button" class="primary wide" onClick={fresh}>New chat</button>
        <label for="conv-search" class="sr-only">Search conversations</label>
        <input id="conv-search" type="search" placeholder="Search conversations" value={query}
          onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        <ul class="convs">
          {conversations.map((c) => (
            <li key={c.id} class={c.id === conversation ? 'current' : ''}>
              <button type="button" class="link" onClick={() => open(c.id)} aria-current={c.id === conversation ? 'true' : undefined}>
                {c.metadata.title || c.id}
              </button>
              <button type="button" class="icon" aria-label={`Delete conversation ${c.metadata.title || c.id}`} onClick={() => remove(c.id)}>×</button>
            </li>
          ))}
          {conversations.length === 0 && <li class="muted">{query ? 'No match' : 'No conversations yet'}</li>}
        </ul>
      </aside>
      <section class="talk" aria-label="Chat">
        <div class="controls">
          <label>Model
            <select id="model" value={model} onChange={(e) => setModel((e.target as HTMLSelectElement).value)}>
              {models.map((m) => <option value={m}>{m}</option>)}
            </select>
          </label>
          <label>Knowledge
            <select value={store} onChange={(e) => setStore((e.target as HTMLSelectElement).value)}>
              <option value="">none</option>
              {stores.map((s) => <option value={s.id}>{s.name || s.id}</option>)}
            </select>
          </label>
          <label class="images" title="Vision models are not served yet">Images
            <input type="file" accept="image/*" disabled aria-describedby="no-vision" />
          </label>
          <span id="no-vision" class="sr-only">Image input is not available: the server has no vision models yet.</span>
          <details class="settings">
            <summary>Settings</summary>
            <label class="block">System prompt
              <textarea rows={3} value={system} onInput={(e) => setSystem((e.target as HTMLTextAreaElement).value)} />
            </label>
            <div class="row">
              {field('temperature', 'Temperature', '0.05')}
              {field('top_p', 'Top p', '0.01')}
              {field('top_k', 'Top k', '1')}
              {field('max_tokens', 'Max tokens', '1')}
              {field('seed', 'Seed', '1')}
            </div>
          </details>
        </div>
        <div class="log" ref={log} role="log" aria-live="polite" aria-label="Chat history">
          {messages.length === 0 && <p class="muted empty">Ask {model || 'a model'} something.</p>}
          {messages.map((m, i) => (
            <article class={`msg ${m.role}`} data-role={m.role} aria-label={m.role === 'user' ? 'You' : 'Assistant'}>
              <h3 class="sr-only">{m.role === 'user' ? 'You' : 'Assistant'}</h3>
              {m.reasoning && <details class="reasoning"><summary>Reasoning</summary><pre>{m.reasoning}</pre></details>}
              {editing === i ? (
                <form class="edit" onSubmit={(e) => { e.preventDefault(); void resend(i); }}>
                  <label class="sr-only" for={`edit-${i}`}>Edit message</label>
                  <textarea id={`edit-${i}`} rows={3} value={editText} onInput={(e) => setEditText((e.target as HTMLTextAreaElement).value)} />
                  <div class="row">
                    <button type="submit" class="primary">Send</button>
                    <button type="button" onClick={() => setEditing(null)}>Cancel</button>
                  </div>
                </form>
              ) : m.role === 'user' ? <p class="text">{m.content}</p> : <Markdown text={m.content} />}
              {m.toolCalls?.map((t) => (
                <details class="tool"><summary>Tool call: {t.name}</summary><pre>{t.arguments}</pre></details>
              ))}
              {m.sources && (
                <details class="sources"><summary>Sources ({m.sources.length})</summary>
                  <ol>{m.sources.map((s) => <li><strong>{s.filename}</strong> <span class="muted">{s.score.toFixed(3)}</span><p>{s.text.slice(0, 300)}</p></li>)}</ol>
                </details>
              )}
              {m.error && <p class="error">{m.error}</p>}
              <Stats m={m} />
              {m.role === 'user' && !busy && editing === null && (
                <button type="button" class="small" onClick={() => { setEditing(i); setEditText(m.content); }}>Edit</button>
              )}
              {m.role === 'assistant' && i === messages.length - 1 && !busy && lastAssistant && (
                <button type="button" class="small" onClick={regenerate}>Regenerate</button>
              )}
            </article>
          ))}
        </div>
        {error && <p class="error" role="alert">{error}</p>}
        <form class="composer" onSubmit={send}>
          <label for="prompt" class="sr-only">Message</label>
          <textarea id="prompt" rows={2} placeholder="Message (Enter sends, Shift+Enter adds a line, Escape stops)" value={input}
            onInput={(e) => setInput((e.target as HTMLTextAreaElement).value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
              if (e.key === 'Escape' && busy) stop();
            }} />
          {busy
            ? <button type="button" class="danger" onClick={stop}>Stop</button>
            : <button type="submit" class="primary" disabled={!model || !input.trim()}>Send</button>}
        </form>
      </section>
    </div>
  );
}
