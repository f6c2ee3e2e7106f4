// The web UI's shell: who is signed in, the pages their key's scopes allow, hash routing (#/chat, #/models …).
// Preact renders it (a 4 KB React-compatible library: components and hooks, no runtime of its own to learn).

import { render, type ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, prefetch, setCsrf, type Session } from './api.ts';
import { Chat } from './chat.tsx';
import './style.css';

/** A page loaded when first shown (its own chunk), so the first page load carries the chat only. */
function lazy(load: () => Promise<ComponentType>): () => preact.JSX.Element {
  let loaded: ComponentType | undefined;
  function Lazy() {
    const [C, setC] = useState<ComponentType | undefined>(() => loaded);
    const [error, setError] = useState('');
    useEffect(() => {
      if (!C) load().then((c) => { loaded = c; setC(() => c); }, (e: Error) => setError(e.message));
    }, []);
    if (error) return <p class="error" role="alert">{error}</p>;
    return C ? <C /> : <p class="muted">Loading…</p>;
  }
  return () => <Lazy />;
}

interface Page {
  id: string;
  title: string;
  scope: string;
  view: () => preact.JSX.Element;
}

const PAGES: Page[] = [
  { id: 'chat', title: 'Chat', scope: 'inference', view: () => <Chat /> },
  { id: 'models', title: 'Models', scope: 'models:read', view: lazy(() => import('./models.tsx').then((m) => m.Models)) },
  { id: 'keys', title: 'Keys', scope: 'admin', view: lazy(() => import('./keys.tsx').then((m) => m.Keys)) },
  { id: 'usage', title: 'Usage', scope: 'admin', view: lazy(() => import('./usage.tsx').then((m) => m.Usage)) },
  { id: 'server', title: 'Server', scope: 'metrics', view: lazy(() => import('./server.tsx').then((m) => m.Server)) },
  { id: 'approvals', title: 'Approvals', scope: 'admin', view: lazy(() => import('./approvals.tsx').then((m) => m.Approvals)) },
];

const currentHash = () => location.hash.replace(/^#\/?/, '') || 'chat';

// Asked before the first render; the chat's model list is asked as soon as the session allows it.
const firstSession = api<Session>('/ui/api/session').then((s) => {
  if (s.signed_in && s.scopes?.includes('inference') && currentHash() === 'chat') prefetch('/v1/models');
  return s;
});

function SignIn({ onSession }: { onSession: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const s = await api<Session>('/ui/api/session', { body: { key } });
      setKey('');
      onSession(s);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin" id="main">
      <h1>Hearth</h1>
      <form onSubmit={submit} class="card">
        <h2>Sign in</h2>
        <p class="muted">This server requires an API key. Your key's scopes decide what you can see. The key is sent once;
          the browser keeps only a session cookie.</p>
        <label for="key">API key</label>
        <input id="key" name="key" type="password" autocomplete="off" spellcheck={false} required placeholder="hth_…"
          value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary" disabled={busy}>Sign in</button>
      </form>
    </main>
  );
}

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState('');
  const [page, setPage] = useState(currentHash());

  const accept = (s: Session) => {
    if (s.signed_in && s.scopes?.includes('inference') && currentHash() === 'chat') prefetch('/v1/models');
    setCsrf(s.csrf ?? null);
    setSession(s);
  };
  useEffect(() => {
    firstSession.then(accept, (e: Error) => setError(e.message));
    const onHash = () => setPage(currentHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    const p = PAGES.find((x) => x.id === page);
    document.title = session?.signed_in && p ? `${p.title} · Hearth` : 'Hearth';
  }, [page, session]);

  if (error) return <main id="main" class="signin"><p class="error" role="alert">{error}</p></main>;
  if (!session) return <main id="main" class="signin"><p class="muted">Loading…</p></main>;
  if (!session.signed_in) return <SignIn onSession={accept} />;

  const scopes = new Set(session.scopes ?? []);
  // a server without keys has no key store to manage
  const pages = PAGES.filter((p) => scopes.has(p.scope) && (p.id !== 'keys' || session.auth));
  const active = pages.find((p) => p.id === page) ?? pages[0];
  const signOut = async () => {
    await api('/ui/api/session', { method: 'DELETE' }).catch(() => undefined);
    setCsrf(null);
    setSession({ auth: true, signed_in: false });
  };

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header class="top">
        <span class="brand">Hearth</span>
        <nav aria-label="Pages">
          {pages.map((p) => (
            <a href={`#/${p.id}`} aria-current={p.id === active?.id ? 'page' : undefined}>{p.title}</a>
          ))}
        </nav>
        <span class="who">
          {session.auth ? <>
            <span class="muted">{session.key?.name}</span>
            <button type="button" onClick={signOut}>Sign out</button>
          </> : <span class="muted">local user</span>}
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {active ? active.view() : <p>This key has no scope the web UI can show.</p>}
      </main>
    </>
  );
}

const root = document.getElementById('app')!;
root.textContent = '';
render(<App />, root);
