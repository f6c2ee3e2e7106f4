// API keys (admin scope): create with scopes, model allow-list, limits and expiry (the secret is shown once, with
// a copy button), list with status and last use, revoke. Over /admin/keys.

import { useEffect, useState } from 'preact/hooks';
import { api, ago } from './api.ts';

interface Key {
  id: string; name: string; prefix: string; status: string; scopes: string[]; models: string[] | null;
  rpm: number | null; tpm: number | null; concurrency: number | null;
  created_at: string; expires_at: string | null; last_used_at: string | null;
}

const SCOPES = ['inference', 'models:read', 'models:write', 'metrics', 'admin'];

const EMPTY = { name: '', scopes: new Set(['inference', 'models:read']), models: '', rpm: '', tpm: '', concurrency: '', expires_in: '' };

export function Keys() {
  const [keys, setKeys] = useState<Key[]>([]);
  const [form, setForm] = useState(EMPTY);
  const [secret, setSecret] = useState<{ name: string; key: string } | null>(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState('');

  const refresh = () => api<{ data: Key[] }>('/admin/keys').then((r) => setKeys(r.data), (e: Error) => setError(e.message));
  useEffect(() => void refresh(), []);

  const create = async (e: Event) => {
    e.preventDefault();
    setError('');
    const body: Record<string, unknown> = { name: form.name.trim(), scopes: [...form.scopes] };
    const models = form.models.split(',').map((s) => s.trim()).filter(Boolean);
    if (models.length) body.models = models;
    for (const k of ['rpm', 'tpm', 'concurrency'] as const) if (form[k].trim()) body[k] = Number(form[k]);
    if (form.expires_in.trim()) body.expires_in = form.expires_in.trim();
    try {
      const r = await api<Key & { key: string }>('/admin/keys', { body });
      setSecret({ name: r.name, key: r.key });
      setCopied(false);
      setForm({ ...EMPTY, scopes: new Set(EMPTY.scopes) });
      await refresh();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const revoke = async (k: Key) => {
    if (!confirm(`Revoke ${k.name}? Requests with it are refused from now on.`)) return;
    try {
      await api(`/admin/keys/${k.id}`, { method: 'DELETE' });
    } catch (err) {
      setError((err as Error).message);
    }
    await refresh();
  };

  const toggle = (s: string) => {
    const scopes = new Set(form.scopes);
    if (scopes.has(s)) scopes.delete(s);
    else scopes.add(s);
    setForm({ ...form, scopes });
  };

  const text = (k: 'name' | 'models' | 'rpm' | 'tpm' | 'concurrency' | 'expires_in', label: string, o: { type?: 'text' | 'number'; hint?: string } = {}) => (
    <label class="block">{label}{o.hint && <span class="muted"> ({o.hint})</span>}
      <input type={(o.type ?? 'text') as 'text'} value={form[k]} required={k === 'name'} min={o.type === 'number' ? 1 : undefined}
        onInput={(e) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value })} />
    </label>
  );

  return (
    <div class="page">
      <h1>API keys</h1>
      {error && <p class="error" role="alert">{error}</p>}
      {secret && (
        <div class="card secret" role="status">
          <h2>Key “{secret.name}” created</h2>
          <p>Copy it now: the server keeps only its hash and will not show it again.</p>
          <div class="row">
            <code class="secret-value" data-testid="secret">{secret.key}</code>
            <button type="button" class="primary" onClick={() => navigator.clipboard?.writeText(secret.key).then(() => setCopied(true))}>
              {copied ? 'Copied' : 'Copy'}
            </button>
            <button type="button" onClick={() => setSecret(null)}>Done</button>
          </div>
        </div>
      )}
      <div class="table-wrap">
        <table>
          <caption class="sr-only">API keys</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Status</th><th scope="col">Scopes</th>
            <th scope="col">Models</th><th scope="col">Limits</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {keys.map((k) => (
              <tr data-key={k.name}>
                <th scope="row">{k.name}</th>
                <td><code>{k.prefix}…</code></td>
                <td><span class={`badge ${k.status}`}>{k.status}</span></td>
                <td>{k.scopes.join(', ')}</td>
                <td>{k.models?.join(', ') ?? 'any'}</td>
                <td>{[k.rpm && `${k.rpm} rpm`, k.tpm && `${k.tpm} tpm`, k.concurrency && `${k.concurrency} at once`].filter(Boolean).join(', ') || 'none'}</td>
                <td>{ago(k.created_at)}{k.expires_at && <span class="muted"> · expires {ago(k.expires_at)}</span>}</td>
                <td>{ago(k.last_used_at)}</td>
                <td>{k.status === 'active' && <button type="button" class="danger" aria-label={`Revoke ${k.name}`} onClick={() => revoke(k)}>Revoke</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form class="card" onSubmit={create} aria-labelledby="new-key">
        <h2 id="new-key">Create a key</h2>
        {text('name', 'Name')}
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <label class="check"><input type="checkbox" checked={form.scopes.has(s)} onChange={() => toggle(s)} /> {s}</label>
          ))}
        </fieldset>
        <div class="row">
          {text('models', 'Models', { hint: 'comma-separated; empty: any' })}
          {text('rpm', 'Requests per minute', { type: 'number' })}
          {text('tpm', 'Tokens per minute', { type: 'number' })}
          {text('concurrency', 'At once', { type: 'number' })}
          {text('expires_in', 'Expires in', { hint: 'e.g. 30d' })}
        </div>
        <button type="submit" class="primary" disabled={!form.name.trim()}>Create key</button>
      </form>
    </div>
  );
}
