// The models library: every model served (Ollama's /api/tags, /api/show for the context), what is loaded and
// until when (/api/ps); pull with a live progress bar (/api/pull's NDJSON lines), unload (/api/generate with
// keep_alive 0, as `ollama stop`), delete (/api/delete) and presets (/api/create: a name over a model with a
// system prompt and parameters).

import { useEffect, useState } from 'preact/hooks';
import { api, ndjson, formatBytes } from './api.ts';

interface Tag {
  name: string;
  size: number;
  modified_at: string;
  details: { family: string; parameter_size: string; quantization_level: string; parent_model: string };
}

interface Loaded { name: string; expires_at: string; state?: string; context_length: number; size: number; requests?: number }

interface Progress { status: string; total?: number; completed?: number }

const base = (n: string) => n.replace(/:latest$/, '');

function expiry(iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  if (new Date(t).getUTCFullYear() > 2200) return 'kept loaded';
  const s = Math.max(0, Math.round((t - Date.now()) / 1000));
  return s >= 120 ? `unloads in ${Math.round(s / 60)} min` : `unloads in ${s} s`;
}

function parseParameters(text: string): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_]+)\s+(.+?)\s*$/.exec(line);
    if (!m) continue;
    const n = Number(m[2]);
    out[m[1]!] = Number.isFinite(n) ? n : m[2]!;
  }
  return out;
}

export function Models() {
  const [tags, setTags] = useState<Tag[]>([]);
  const [loaded, setLoaded] = useState<Map<string, Loaded>>(new Map());
  const [contexts, setContexts] = useState<Record<string, number>>({});
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [source, setSource] = useState('');
  const [progress, setProgress] = useState<Progress | null>(null);
  const [pulling, setPulling] = useState(false);
  const [preset, setPreset] = useState({ name: '', from: '', system: '', parameters: '' });

  const refresh = async () => {
    try {
      const [t, ps] = await Promise.all([api<{ models: Tag[] }>('/api/tags'), api<{ models: Loaded[] }>('/api/ps')]);
      setTags(t.models);
      setLoaded(new Map(ps.models.map((m) => [base(m.name), m])));
      for (const m of t.models) {
        if (contexts[m.name] !== undefined) continue;
        api<{ model_info: Record<string, unknown> }>('/api/show', { body: { model: m.name } }).then((s) => {
          const arch = s.model_info['general.architecture'];
          const ctx = Number(s.model_info[`${arch}.context_length`]);
          if (Number.isFinite(ctx)) setContexts((c) => ({ ...c, [m.name]: ctx }));
        }, () => undefined);
      }
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => {
    void refresh();
    const t = setInterval(() => void refresh(), 5000);
    return () => clearInterval(t);
  }, []);

  const act = async (what: string, f: () => Promise<unknown>) => {
    setError('');
    setNotice('');
    try {
      await f();
      setNotice(what);
    } catch (e) {
      setError((e as Error).message);
    }
    await refresh();
  };

  const pull = async (e: Event) => {
    e.preventDefault();
    if (!source.trim() || pulling) return;
    setPulling(true);
    setError('');
    setNotice('');
    setProgress({ status: 'starting' });
    try {
      for await (const p of ndjson<Progress & { error?: string }>('/api/pull', { model: source.trim(), stream: true })) {
        if (p.error) throw new Error(p.error);
        setProgress((old) => ({ ...old, ...p }));
        if (p.status === 'success') setNotice(`Pulled ${source.trim()}`);
      }
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setPulling(false);
      await refresh();
    }
  };

  const createPreset = (e: Event) => {
    e.preventDefault();
    const body: Record<string, unknown> = { model: preset.name.trim(), from: preset.from || tags[0]?.name, stream: false };
    if (preset.system.trim()) body.system = preset.system;
    const params = parseParameters(preset.parameters);
    if (Object.keys(params).length) body.parameters = params;
    void act(`Created ${preset.name.trim()}`, () => api('/api/create', { body })).then(() => setPreset({ name: '', from: '', system: '', parameters: '' }));
  };

  const pct = progress?.total ? Math.round(((progress.completed ?? 0) / progress.total) * 100) : undefined;

  return (
    <div class="page">
      <h1>Models</h1>
      {error && <p class="error" role="alert">{error}</p>}
      {notice && <p class="notice" role="status">{notice}</p>}
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Models in the library</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Size</th><th scope="col">Quantization</th><th scope="col">Parameters</th>
            <th scope="col">Family</th><th scope="col">Context</th><th scope="col">Loaded</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {tags.map((m) => {
              const l = loaded.get(base(m.name));
              return (
                <tr data-model={base(m.name)}>
                  <th scope="row">{base(m.name)}{m.details.parent_model && <span class="muted"> (preset of {m.details.parent_model})</span>}</th>
                  <td>{formatBytes(m.size)}</td>
                  <td>{m.details.quantization_level || '—'}</td>
                  <td>{m.details.parameter_size || '—'}</td>
                  <td>{m.details.family || '—'}</td>
                  <td>{l?.context_length || contexts[m.name] || '—'}</td>
                  <td>{l ? <span class="badge">{l.state === 'loading' ? 'loading' : 'loaded'}</span> : <span class="muted">no</span>}
                    {l && <span class="muted small-text"> {expiry(l.expires_at)}</span>}</td>
                  <td class="actions">
                    {l && <button type="button" onClick={() => act(`Unloaded ${base(m.name)}`, () => api('/api/generate', { body: { model: base(m.name), keep_alive: 0 } }))}>Unload</button>}
                    <button type="button" class="danger" aria-label={`Delete ${base(m.name)}`}
                      onClick={() => confirm(`Delete ${base(m.name)}?`) && act(`Deleted ${base(m.name)}`, () => api('/api/delete', { method: 'DELETE', body: { model: m.name } }))}>Delete</button>
                  </td>
                </tr>
              );
            })}
            {tags.length === 0 && <tr><td colSpan={8} class="muted">No models yet: pull one below.</td></tr>}
          </tbody>
        </table>
      </div>

      <div class="cards">
        <form class="card" onSubmit={pull} aria-labelledby="pull-title">
          <h2 id="pull-title">Pull a model</h2>
          <label for="pull-source">Source</label>
          <input id="pull-source" placeholder="hf.co/OWNER/REPO:Q4_K_M or llama3.2:1b" value={source}
            onInput={(e) => setSource((e.target as HTMLInputElement).value)} />
          <button type="submit" class="primary" disabled={pulling || !source.trim()}>Pull</button>
          {progress && (
            <div class="progress">
              <label for="pull-progress">{progress.status}{pct !== undefined ? ` — ${pct}%` : ''}
                {progress.total ? ` (${formatBytes(progress.completed ?? 0)} of ${formatBytes(progress.total)})` : ''}</label>
              <progress id="pull-progress" max={progress.total || 1} value={progress.total ? progress.completed ?? 0 : undefined} />
            </div>
          )}
        </form>

        <form class="card" onSubmit={createPreset} aria-labelledby="preset-title">
          <h2 id="preset-title">Create a preset</h2>
          <label for="preset-name">Name</label>
          <input id="preset-name" required value={preset.name} onInput={(e) => setPreset({ ...preset, name: (e.target as HTMLInputElement).value })} />
          <label for="preset-from">From</label>
          <select id="preset-from" value={preset.from} onChange={(e) => setPreset({ ...preset, from: (e.target as HTMLSelectElement).value })}>
            {tags.map((t) => <option value={t.name}>{base(t.name)}</option>)}
          </select>
          <label for="preset-system">System prompt</label>
          <textarea id="preset-system" rows={2} value={preset.system} onInput={(e) => setPreset({ ...preset, system: (e.target as HTMLTextAreaElement).value })} />
          <label for="preset-params">Parameters (one per line: temperature 0.7)</label>
          <textarea id="preset-params" rows={2} value={preset.parameters} onInput={(e) => setPreset({ ...preset, parameters: (e.target as HTMLTextAreaElement).value })} />
          <button type="submit" class="primary" disabled={!preset.name.trim() || tags.length === 0}>Create</button>
        </form>
      </div>
    </div>
  );
}
