// Prometheus metrics (prom-client) in a registry owned by one app: HTTP requests, latency, time to first token,
// tokens, decode speed, queue depth, busy slots, model load time, and the process defaults (memory, CPU).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { HearthError } from '../../util/errors.ts';
import type { ChoiceResult } from '../../api/native.ts';
import type { SchedulerStats, StepInfo } from '../../engine/scheduler.ts';

export interface MetricsOptions {
  /** Metric name prefix (default "hearth_"). */
  prefix?: string;
  /** Add prom-client's process metrics: memory, CPU, event-loop lag (default true). */
  processMetrics?: boolean;
}

export interface MetricsSource {
  stats(): SchedulerStats | undefined;
  loadSeconds(): number | undefined;
}

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly latency: Histogram<'route'>;
  readonly ttft: Histogram<'route'>;
  readonly promptTokens: Counter;
  readonly generatedTokens: Counter;
  readonly tokensPerSecond: Histogram;
  readonly batchSequences: Histogram;
  readonly stepSeconds: Histogram<'kind'>;

  constructor(opts: MetricsOptions, source: MetricsSource) {
    const p = opts.prefix ?? 'hearth_';
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(p)) throw new HearthError('invalid_argument', `metrics prefix "${p}" is not a valid Prometheus name prefix`);
    const registers = [this.registry];
    this.requests = new Counter({ name: `${p}http_requests_total`, help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers });
    this.latency = new Histogram({
      name: `${p}http_request_duration_seconds`, help: 'HTTP request duration (to the last byte for streams)', labelNames: ['route'], registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    });
    this.ttft = new Histogram({
      name: `${p}time_to_first_token_seconds`, help: 'Time from request to the first generated token', labelNames: ['route'], registers,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.promptTokens = new Counter({ name: `${p}prompt_tokens_total`, help: 'Prompt tokens of finished requests', registers });
    this.generatedTokens = new Counter({ name: `${p}generated_tokens_total`, help: 'Tokens generated', registers });
    this.tokensPerSecond = new Histogram({
      name: `${p}generation_tokens_per_second`, help: 'Decode speed per request (generated tokens / generation time)', registers,
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
    });
    this.batchSequences = new Histogram({
      name: `${p}batch_sequences`, help: 'Sequences in each batched forward pass', registers, buckets: [1, 2, 4, 8, 16, 32, 64],
    });
    this.stepSeconds = new Histogram({
      name: `${p}step_duration_seconds`, labelNames: ['kind'], registers,
      help: 'Duration of each scheduler step: decode (one token per stream), prompt (prompt chunks alone) or mixed (a prompt chunk next to decoding streams)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    new Gauge({ name: `${p}queue_depth`, help: 'Requests waiting for a slot', registers, collect() { this.set(source.stats()?.queued ?? 0); } });
    new Gauge({ name: `${p}busy_slots`, help: 'Slots generating now', registers, collect() { this.set(source.stats()?.busy ?? 0); } });
    new Gauge({ name: `${p}slots`, help: 'Parallel slots', registers, collect() { this.set(source.stats()?.slots ?? 0); } });
    new Gauge({
      name: `${p}model_load_seconds`, help: 'Time the served model took to load', registers,
      collect() { const s = source.loadSeconds(); if (s !== undefined) this.set(s); },
    });
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: p });
  }

  observeRequest(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.latency.observe({ route }, seconds);
  }

  observeGeneration(route: string, results: readonly ChoiceResult[]): void {
    const prompts = new Set<number>();
    for (const r of results) {
      if (!prompts.has(r.promptIndex)) this.promptTokens.inc(r.usage.promptTokens);
      prompts.add(r.promptIndex);
      this.generatedTokens.inc(r.usage.completionTokens);
      if (r.timings.firstTokenMs !== undefined && r.index === 0) this.ttft.observe({ route }, r.timings.firstTokenMs / 1000);
      if (r.usage.completionTokens > 1 && r.timings.generateMs > 0) {
        this.tokensPerSecond.observe(r.usage.completionTokens / (r.timings.generateMs / 1000));
      }
    }
  }

  observeStep(step: StepInfo): void {
    this.batchSequences.observe(step.sequences);
    const decode = step.tokens - step.promptTokens;
    const kind = step.promptTokens === 0 ? 'decode' : decode === 0 ? 'prompt' : 'mixed';
    this.stepSeconds.observe({ kind }, step.ms / 1000);
  }
}
