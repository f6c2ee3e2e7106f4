// Usage from the audit (admin scope, GET /admin/usage): requests, tokens, errors and 429s over time, per key,
// model or route, with the totals beside them.

import { useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';
import { LineChart, type Series } from './chart.tsx';

interface Point { t: number; group: string | null; label: string; requests: number; errors: number; rate_limited: number; prompt_tokens: number; completion_tokens: number }
interface Total { group: string | null; label: string; requests: number; errors: number; rate_limited: number; prompt_tokens: number; completion_tokens: number; mean_ms: number }
interface Answer { by: string; bucket_ms: number; since: string; until: string; totals: Total[]; series: Point[] }

const SPANS = [['1h', 'last hour'], ['24h', 'last day'], ['7d', 'last week'], ['30d', 'last 30 days']] as const;

function seriesOf(a: Answer, f: (p: Point) => number): { xs: number[]; series: Series[] } {
  const start = Math.floor(Date.parse(a.since) / a.bucket_ms) * a.bucket_ms;
  const end = Date.parse(a.until);
  const xs: number[] = [];
  for (let t = start; t <= end; t += a.bucket_ms) xs.push(t);
  const groups = new Map<string, number[]>();
  for (const p of a.series) {
    const values = groups.get(p.label) ?? groups.set(p.label, xs.map(() => 0)).get(p.label)!;
    const i = Math.round((p.t - start) / a.bucket_ms);
    if (i >= 0 && i < xs.length) values[i]! += f(p);
  }
  return { xs, series: [...groups].slice(0, 6).map(([name, values]) => ({ name, values })) };
}

export function Usage() {
  const [since, setSince] = useState('24h');
  const [by, setBy] = useState('key');
  const [data, setData] = useState<Answer | null>(null);
  const [error, setError] = useState('');

  useEffect(() => {
    const load = () => api<Answer>(`/admin/usage?since=${since}&by=${by}`).then((a) => { setData(a); setError(''); }, (e: Error) => setError(e.message));
    void load();
    const t = setInterval(load, 10_000);
    return () => clearInterval(t);
  }, [since, by]);

  const time = (t: number) => {
    const d = new Date(t);
    return since === '1h' || since === '24h' ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
  };

  return (
    <div class="page">
      <h1>Usage</h1>
      <div class="row controls">
        <label>Span
          <select value={since} onChange={(e) => setSince((e.target as HTMLSelectElement).value)}>
            {SPANS.map(([v, l]) => <option value={v}>{l}</option>)}
          </select>
        </label>
        <label>Per
          <select value={by} onChange={(e) => setBy((e.target as HTMLSelectElement).value)}>
            <option value="key">key</option><option value="model">model</option><option value="route">route</option>
          </select>
        </label>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {data && (
        <>
          <div class="charts">
            <LineChart title="Requests" format={time} {...seriesOf(data, (p) => p.requests)} />
            <LineChart title="Tokens (prompt + completion)" format={time} {...seriesOf(data, (p) => p.prompt_tokens + p.completion_tokens)} />
            <LineChart title="Errors (4xx and 5xx)" format={time} {...seriesOf(data, (p) => p.errors)} />
            <LineChart title="Rate-limited (429)" format={time} {...seriesOf(data, (p) => p.rate_limited)} />
          </div>
          <div class="table-wrap">
            <table>
              <caption>Totals per {data.by}</caption>
              <thead><tr><th scope="col">{data.by}</th><th scope="col">Requests</th><th scope="col">Errors</th><th scope="col">429s</th>
                <th scope="col">Prompt tokens</th><th scope="col">Completion tokens</th><th scope="col">Mean ms</th></tr></thead>
              <tbody>
                {data.totals.map((t) => (
                  <tr><th scope="row">{t.label}</th><td>{t.requests}</td><td>{t.errors}</td><td>{t.rate_limited}</td>
                    <td>{t.prompt_tokens}</td><td>{t.completion_tokens}</td><td>{t.mean_ms}</td></tr>
                ))}
                {data.totals.length === 0 && <tr><td colSpan={7} class="muted">No requests in this span.</td></tr>}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}
