// The serving metrics, on the service's Prometheus registry: requests by endpoint and outcome,
// prompt and completion tokens, time to first token, decode rate, queue length and loaded models.
import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';

export type Outcome = 'ok' | 'client_closed' | 'rejected' | 'rate_limited' | 'error';

export interface ServeMetrics {
  requests: Counter<'endpoint' | 'model' | 'outcome'>;
  promptTokens: Counter<'model'>;
  completionTokens: Counter<'model'>;
  timeToFirstToken: Histogram<'model'>;
  decodeTokensPerSecond: Histogram<'model'>;
}

export function createServeMetrics(
  registry: Registry,
  live: { queued: () => number; running: () => number; loaded: () => number },
): ServeMetrics {
  const registers = [registry];
  new Gauge({
    name: 'serve_queue_length',
    help: 'Requests waiting for a generation slot',
    registers,
    collect() {
      this.set(live.queued());
    },
  });
  new Gauge({
    name: 'serve_running',
    help: 'Generations running now',
    registers,
    collect() {
      this.set(live.running());
    },
  });
  new Gauge({
    name: 'serve_models_loaded',
    help: 'Models loaded in the LRU',
    registers,
    collect() {
      this.set(live.loaded());
    },
  });
  return {
    requests: new Counter({
      name: 'serve_requests_total',
      help: 'Completion requests by endpoint, model and outcome',
      labelNames: ['endpoint', 'model', 'outcome'] as const,
      registers,
    }),
    promptTokens: new Counter({
      name: 'serve_prompt_tokens_total',
      help: 'Prompt positions (text tokens + media rows)',
      labelNames: ['model'] as const,
      registers,
    }),
    completionTokens: new Counter({
      name: 'serve_completion_tokens_total',
      help: 'Generated tokens',
      labelNames: ['model'] as const,
      registers,
    }),
    timeToFirstToken: new Histogram({
      name: 'serve_time_to_first_token_seconds',
      help: 'From request arrival to the first generated token (queue, load, media, prefill included)',
      labelNames: ['model'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    decodeTokensPerSecond: new Histogram({
      name: 'serve_decode_tokens_per_second',
      help: 'Decode rate of each request after its first token',
      labelNames: ['model'] as const,
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers,
    }),
  };
}
