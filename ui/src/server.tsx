// The server's own figures, drawn live from /metrics (Prometheus text, polled every 2 s): tokens generated per
// second, queue depth and busy slots, requests per second, mean time to first token; and /health.

import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.ts';
import { LineChart } from './chart.tsx';

/** Sums of each metric's samples by name (labels summed over), from Prometheus' text format. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    if (!Number.isFinite(v)) continue;
    if (m[2] && /le="/.test(m[2])) continue; // histogram buckets: only _sum and _count are read
    out.set(m[1]!, (out.get(m[1]!) ?? 0) + v);
  }
  return out;
}

interface Sample { t: number; tps: number; rps: number; queue: number; busy: number; slots: number; ttftMs: number }

const KEEP = 60;

export function Server() {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [health, setHealth] = useState<Record<string, unknown> | null>(null);
  const [error, setError] = useState('');
  const last = useRef<{ t: number; m: Map<string, number> } | null>(null);

  useEffect(() => {
    const poll = async () => {
      try {
        const text = await api<string>('/metrics');
        const m = parseMetrics(text);
        const t = Date.now();
        const prev = last.current;
        last.current = { t, m };
        setError('');
        if (!prev) return;
        const dt = (t - prev.t) / 1000;
        const d = (name: string) => (m.get(name) ?? 0) - (prev.m.get(name) ?? 0);
        const ttftCount = d('hearth_time_to_first_token_seconds_count');
        setSamples((s) => [...s, {
          t, tps: Math.max(0, d('hearth_generated_tokens_total') / dt), rps: Math.max(0, d('hearth_http_requests_total') / dt),
          queue: m.get('hearth_queue_depth') ?? 0, busy: m.get('hearth_busy_slots') ?? 0, slots: m.get('hearth_slots') ?? 0,
          ttftMs: ttftCount > 0 ? (d('hearth_time_to_first_token_seconds_sum') / ttftCount) * 1000 : 0,
        }].slice(-KEEP));
      } catch (e) {
        setError((e as Error).message);
      }
      api<Record<string, unknown>>('/health').then(setHealth, () => setHealth(null));
    };
    void poll();
    const t = setInterval(poll, 2000);
    return () => clearInterval(t);
  }, []);

  const xs = samples.map((s) => s.t);
  const time = (t: number) => new Date(t).toLocaleTimeString([], { minute: '2-digit', second: '2-digit' });
  const now = samples.at(-1);
  return (
    <div class="page">
      <h1>Server</h1>
      {error && <p class="error" role="alert">{error}</p>}
      <dl class="figures">
        <div><dt>Status</dt><dd>{String(health?.status ?? '—')}</dd></div>
        <div><dt>Models loaded</dt><dd>{String(health?.model || '—')}</dd></div>
        <div><dt>Tokens/s</dt><dd data-testid="tps">{now ? now.tps.toFixed(1) : '—'}</dd></div>
        <div><dt>Queue</dt><dd>{now?.queue ?? '—'}</dd></div>
        <div><dt>Busy slots</dt><dd>{now ? `${now.busy} of ${now.slots}` : '—'}</dd></div>
      </dl>
      <div class="charts">
        <LineChart title="Tokens generated per second" xs={xs} format={time} series={[{ name: 'tokens/s', values: samples.map((s) => s.tps) }]} />
        <LineChart title="Queue and slots" xs={xs} format={time} series={[
          { name: 'queued', values: samples.map((s) => s.queue) }, { name: 'busy slots', values: samples.map((s) => s.busy) }]} />
        <LineChart title="Requests per second" xs={xs} format={time} series={[{ name: 'requests/s', values: samples.map((s) => s.rps) }]} />
        <LineChart title="Mean time to first token (ms)" xs={xs} format={time} series={[{ name: 'TTFT ms', values: samples.map((s) => s.ttftMs) }]} />
      </div>
      {samples.length === 0 && <p class="muted">Collecting figures…</p>}
    </div>
  );
}
