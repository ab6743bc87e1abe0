// The cache hit rate of a feature job.
import type { FeatureJobResult } from '../../api/types.js';

/** Cached media over all media the job needed: the share that cost nothing to compute. */
export function cacheHitRate(
  result: Pick<FeatureJobResult, 'hits' | 'computed' | 'failed'>,
): number | undefined {
  const needed = result.hits + result.computed + result.failed;
  return needed === 0 ? undefined : result.hits / needed;
}
