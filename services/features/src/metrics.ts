// The feature service's Prometheus metrics, registered on the service's own registry: items by
// outcome (cache hit, computed, recomputed after a failed checksum, failed), batch durations and
// the latest compute throughput by execution provider, and provider fallbacks.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface FeatureMetrics {
  items: Counter<'outcome' | 'kind'>;
  batchSeconds: Histogram<'ep'>;
  itemsPerSecond: Gauge<'ep' | 'kind'>;
  fallbacks: Counter<'requested' | 'used'>;
}

export function createFeatureMetrics(registry: Registry): FeatureMetrics {
  const registers = [registry];
  return {
    items: new Counter({
      name: 'mmit_features_items_total',
      help: 'Media items seen by feature jobs, by outcome: hit, computed, recomputed, failed',
      labelNames: ['outcome', 'kind'] as const,
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'mmit_features_batch_seconds',
      help: 'Time to fetch, encode and publish one batch',
      labelNames: ['ep'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    itemsPerSecond: new Gauge({
      name: 'mmit_features_items_per_second',
      help: 'Compute throughput of the last batch (items computed per second)',
      labelNames: ['ep', 'kind'] as const,
      registers,
    }),
    fallbacks: new Counter({
      name: 'mmit_features_ep_fallbacks_total',
      help: 'Jobs that asked for an execution provider and ran on another',
      labelNames: ['requested', 'used'] as const,
      registers,
    }),
  };
}
