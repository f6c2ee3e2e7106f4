// The gateway's Prometheus metrics, per upstream provider: requests and errors by class, latency, time to the first
// token, tokens, and each provider's circuit breaker (0 closed, 1 half open, 2 open). In the app's registry.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { GatewayObserver } from '../../provider/gateway/gateway.ts';

const BREAKER = { closed: 0, half_open: 1, open: 2 } as const;

export function gatewayMetrics(registry: Registry, prefix = 'hearth_'): GatewayObserver {
  const registers = [registry];
  const requests = new Counter({ name: `${prefix}upstream_requests_total`, help: 'Requests sent to each upstream provider, by outcome', labelNames: ['provider', 'outcome'], registers });
  const errors = new Counter({ name: `${prefix}upstream_errors_total`, help: 'Upstream failures by provider and class (4xx, 5xx, connect, reset, first_byte_timeout, idle_timeout)', labelNames: ['provider', 'class'], registers });
  const latency = new Histogram({
    name: `${prefix}upstream_request_duration_seconds`, help: 'Upstream request duration (to the end of the stream)', labelNames: ['provider'], registers,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  });
  const ttft = new Histogram({
    name: `${prefix}upstream_time_to_first_token_seconds`, help: 'Time from the upstream request to its first token', labelNames: ['provider'], registers,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const tokens = new Counter({ name: `${prefix}upstream_tokens_total`, help: 'Tokens through each upstream provider (reported, or estimated)', labelNames: ['provider', 'kind'], registers });
  const breaker = new Gauge({ name: `${prefix}upstream_breaker_state`, help: 'Circuit breaker per provider: 0 closed, 1 half open, 2 open', labelNames: ['provider'], registers });
  return {
    request(provider, outcome, errorClass, seconds) {
      requests.inc({ provider, outcome });
      if (errorClass) errors.inc({ provider, class: errorClass });
      latency.observe({ provider }, seconds);
    },
    firstToken: (provider, seconds) => ttft.observe({ provider }, seconds),
    tokens(provider, prompt, completion) {
      tokens.inc({ provider, kind: 'prompt' }, prompt);
      tokens.inc({ provider, kind: 'completion' }, completion);
    },
    breaker: (provider, state) => breaker.set({ provider }, BREAKER[state]),
  };
}
