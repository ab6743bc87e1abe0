// The cache hit rate of a feature job, and whether it had anything to do.
import type { FeatureJobResult } from '../../api/types.js';

/** Cached media over all media the job needed: the share that cost nothing to compute. */
export function cacheHitRate(
  result: Pick<FeatureJobResult, 'hits' | 'computed' | 'failed'>,
): number | undefined {
  const needed = result.hits + result.computed + result.failed;
  return needed === 0 ? undefined : result.hits / needed;
}

/**
 * A job with nothing to do: it computed nothing and failed on nothing, because every medium it
 * needed was already cached (or it needed none). Runs start one for every attempt, so a resumed
 * run's job is one of these; the page marks them rather than listing them like real work.
 */
export function isNoOp(result: Pick<FeatureJobResult, 'computed' | 'failed'>): boolean {
  return result.computed === 0 && result.failed === 0;
}
