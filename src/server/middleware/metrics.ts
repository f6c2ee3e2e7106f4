// Prometheus metrics (prom-client) in a registry owned by one app: HTTP requests, latency, time to first token,
// tokens, decode speed, queue depth, busy slots, model load time; per model: queue time, time to first token,
// inter-token latency, KV-cache use and the model's memory; and the process defaults (resident memory, CPU).
// docs/grafana-dashboard.json charts these names.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { HearthError } from '../../util/errors.ts';
import type { ChoiceResult } from '../../api/native.ts';
import type { KvCacheUse, SchedulerStats, StepInfo } from '../../engine/scheduler.ts';

export interface MetricsOptions {
  /** Metric name prefix (default "hearth_"). */
  prefix?: string;
  /** Add prom-client's process metrics: memory, CPU, event-loop lag (default true). */
  processMetrics?: boolean;
}

/** One loaded model, as the per-model gauges read it. */
export interface ModelGaugeSource {
  model: string;
  /** The memory the budget counts for it (the estimate at load). */
  bytes: number;
  kv?: KvCacheUse;
}

export interface MetricsSource {
  stats(): SchedulerStats | undefined;
  loadSeconds(): number | undefined;
  /** The loaded models (default: none). */
  models?(): ModelGaugeSource[];
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
  readonly queueSeconds: Histogram<'model'>;
  readonly modelTtft: Histogram<'model'>;
  readonly interToken: Histogram<'model'>;

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
    this.queueSeconds = new Histogram({
      name: `${p}request_queue_seconds`, help: 'Time a generation waited for a slot, per model', labelNames: ['model'], registers,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    });
    this.modelTtft = new Histogram({
      name: `${p}model_time_to_first_token_seconds`, help: 'Time from request to the first generated token, per model', labelNames: ['model'], registers,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.interToken = new Histogram({
      name: `${p}inter_token_latency_seconds`, help: 'Time between consecutive generated tokens of one sequence, per model', labelNames: ['model'], registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
    const models = () => source.models?.() ?? [];
    new Gauge({
      name: `${p}kv_cache_tokens`, help: 'Tokens held in the KV caches of a model\'s slots (finished sequences\' stay for prefix reuse)', labelNames: ['model'], registers,
      collect() { this.reset(); for (const m of models()) if (m.kv) this.set({ model: m.model }, m.kv.tokens); },
    });
    new Gauge({
      name: `${p}kv_cache_capacity_tokens`, help: 'Tokens the KV caches of a model\'s slots can hold', labelNames: ['model'], registers,
      collect() { this.reset(); for (const m of models()) if (m.kv) this.set({ model: m.model }, m.kv.capacity); },
    });
    new Gauge({
      name: `${p}kv_cache_usage_ratio`, help: 'KV-cache tokens held / capacity, per model (0 to 1)', labelNames: ['model'], registers,
      collect() { this.reset(); for (const m of models()) if (m.kv && m.kv.capacity > 0) this.set({ model: m.model }, m.kv.tokens / m.kv.capacity); },
    });
    new Gauge({
      name: `${p}model_memory_bytes`, help: 'Memory a loaded model takes (the estimate the memory budget counts)', labelNames: ['model'], registers,
      collect() { this.reset(); for (const m of models()) this.set({ model: m.model }, m.bytes); },
    });
    new Gauge({
      name: `${p}resident_memory_bytes`, help: 'Resident set size of the server process (all threads: HTTP, engine, kernels)', registers,
      collect() { this.set(process.memoryUsage.rss()); },
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

  observeGeneration(route: string, results: readonly ChoiceResult[], model?: string): void {
    const prompts = new Set<number>();
    for (const r of results) {
      if (model !== undefined) {
        this.queueSeconds.observe({ model }, r.timings.queueMs / 1000);
        if (r.timings.firstTokenMs !== undefined && r.index === 0) this.modelTtft.observe({ model }, r.timings.firstTokenMs / 1000);
        for (const gap of r.timings.tokenGapsMs ?? []) this.interToken.observe({ model }, gap / 1000);
      }
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
