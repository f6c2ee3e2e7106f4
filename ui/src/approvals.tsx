// The assistant's actions waiting for a person (admin scope): each with its code or diff, the risk assessment's
// level and findings, the reviewing model's verdict, and Approve / Deny; below, the decisions already taken.
// Over the assistant's HTTP API: GET /api/v1/approvals, POST /api/v1/approvals/{id} {decision: approve | deny}.
// A server without the assistant answers 404, and the page says so.

import { useEffect, useState } from 'preact/hooks';
import { api, ago, ApiError } from './api.ts';

interface Finding { rule?: string; message: string; line?: number }

export interface Approval {
  id: string;
  status: 'pending' | 'approved' | 'denied' | 'expired';
  created_at: string;
  task?: string;
  action: { tool: string; summary?: string; code?: string; diff?: string; path?: string };
  risk: { level: 'LOW' | 'MEDIUM' | 'HIGH' | 'BLOCKED'; findings: Finding[] };
  review?: { verdict: string; reasons: string[]; model?: string };
  decided_by?: string;
  decided_at?: string;
}

function Pending({ a, decide }: { a: Approval; decide: (id: string, d: 'approve' | 'deny') => void }) {
  return (
    <article class="card approval" aria-labelledby={`ap-${a.id}`} data-approval={a.id}>
      <h2 id={`ap-${a.id}`}>{a.action.summary ?? a.action.tool} <span class={`badge risk-${a.risk.level.toLowerCase()}`}>{a.risk.level}</span></h2>
      <p class="muted">{a.task ? `${a.task} · ` : ''}{a.action.tool}{a.action.path ? ` ${a.action.path}` : ''} · asked {ago(a.created_at)}</p>
      {a.action.code && <><h3>Code</h3><pre tabIndex={0}><code>{a.action.code}</code></pre></>}
      {a.action.diff && <><h3>Diff</h3><pre tabIndex={0} class="diff"><code>{a.action.diff}</code></pre></>}
      <h3>Risk findings</h3>
      {a.risk.findings.length
        ? <ul>{a.risk.findings.map((f) => <li>{f.rule && <strong>{f.rule}: </strong>}{f.message}{f.line !== undefined && <span class="muted"> (line {f.line})</span>}</li>)}</ul>
        : <p class="muted">none</p>}
      {a.review && <><h3>Review{a.review.model ? ` by ${a.review.model}` : ''}: {a.review.verdict}</h3>
        <ul>{a.review.reasons.map((r) => <li>{r}</li>)}</ul></>}
      <div class="row">
        <button type="button" class="primary" onClick={() => decide(a.id, 'approve')}>Approve</button>
        <button type="button" class="danger" onClick={() => decide(a.id, 'deny')}>Deny</button>
      </div>
    </article>
  );
}

export function Approvals() {
  const [items, setItems] = useState<Approval[] | null>(null);
  const [absent, setAbsent] = useState(false);
  const [error, setError] = useState('');

  const refresh = () => api<{ data: Approval[] }>('/api/v1/approvals').then((r) => setItems(r.data), (e: Error) => {
    if (e instanceof ApiError && e.status === 404) setAbsent(true);
    else setError(e.message);
  });
  useEffect(() => {
    void refresh();
    const t = setInterval(() => void refresh(), 3000);
    return () => clearInterval(t);
  }, []);

  const decide = async (id: string, decision: 'approve' | 'deny') => {
    setError('');
    try {
      await api(`/api/v1/approvals/${encodeURIComponent(id)}`, { body: { decision } });
    } catch (e) {
      setError((e as Error).message);
    }
    await refresh();
  };

  const pending = items?.filter((a) => a.status === 'pending') ?? [];
  const decided = items?.filter((a) => a.status !== 'pending') ?? [];
  return (
    <div class="page">
      <h1>Approvals</h1>
      {error && <p class="error" role="alert">{error}</p>}
      {absent && <p class="muted">This server does not run the assistant, so nothing waits for approval.</p>}
      {items && pending.length === 0 && <p class="muted">Nothing waits for a decision.</p>}
      {pending.map((a) => <Pending a={a} decide={decide} />)}
      {decided.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption>Decisions</caption>
            <thead><tr><th scope="col">Action</th><th scope="col">Risk</th><th scope="col">Decision</th><th scope="col">By</th><th scope="col">When</th></tr></thead>
            <tbody>
              {decided.map((a) => (
                <tr data-decided={a.id}><th scope="row">{a.action.summary ?? a.action.tool}</th><td>{a.risk.level}</td>
                  <td><span class={`badge ${a.status === 'approved' ? '' : 'revoked'}`}>{a.status}</span></td>
                  <td>{a.decided_by ?? '—'}</td><td>{ago(a.decided_at)}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
