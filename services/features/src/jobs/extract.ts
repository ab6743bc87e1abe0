// The `extract` job: make sure every media item of a corpus or dataset has features under one
// encoder key. It indexes shards a crashed attempt left without a segment, counts cache hits
// (re-verifying their checksums unless told not to), then computes the misses in batches, one
// shard per batch, published shard-first. A resumed attempt therefore redoes at most the batch
// that was in flight; everything published is a hit the second time round.

import type { FeatureJobRequest, FeatureJobResult } from '@mmit/contracts';
import {
  adoptOrphanShards,
  buildShard,
  FeatureIndex,
  newShardId,
  publishShard,
  recordEncoder,
  type ShardItem,
  verifyEntries,
} from '@mmit/features';
import type { JobContext } from '@mmit/service-kit';
import type { Bucket } from '@mmit/storage';
import type { ExecutionProvider } from '@mmit/tensor';
import { type ResolvedEncoder, resolveEncoder } from '../encoders/resolve.js';
import type { EncoderRunner } from '../encoders/runner.js';
import type { FeatureMetrics } from '../metrics.js';
import { corpusMedia, datasetMedia, type MediaTask } from '../sources.js';

export interface ExtractSettings {
  bucket: Bucket;
  metrics: FeatureMetrics;
  ep: ExecutionProvider;
  batchSize: number;
  threads: number;
  modelRoots: string[];
}

const MAX_LISTED_FAILURES = 100;

function batches<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Hits and misses of the source's media against the index. */
async function partition(
  bucket: Bucket,
  index: FeatureIndex,
  tasks: MediaTask[],
  verify: boolean,
): Promise<{ hits: number; misses: MediaTask[]; recompute: Set<string> }> {
  const cached = tasks.flatMap((t) => {
    const entry = index.get(t.sha256);
    return entry ? [entry] : [];
  });
  const recompute = new Set<string>();
  if (verify && cached.length) {
    for (const entry of (await verifyEntries(bucket, index, cached)).corrupt) recompute.add(entry.sha256);
  }
  const misses = tasks.filter((t) => !index.has(t.sha256) || recompute.has(t.sha256));
  return { hits: tasks.length - misses.length, misses, recompute };
}

export async function runExtract(
  ctx: JobContext<FeatureJobRequest>,
  settings: ExtractSettings,
): Promise<FeatureJobResult> {
  const { params, progress, signal, logger } = ctx;
  const { bucket, metrics } = settings;
  const requestedEp = params.ep ?? settings.ep;
  const batchSize = params.batchSize ?? settings.batchSize;

  progress.note('resolving encoder');
  const encoder: ResolvedEncoder = await resolveEncoder(params.encoder, { modelRoots: settings.modelRoots });
  const { key, identity } = encoder;
  const kind = identity.kind;
  await recordEncoder(bucket, {
    encoderKey: key,
    identity,
    spec: params.encoder,
    createdAt: new Date().toISOString(),
  });

  progress.note('listing media');
  const source = params.corpusId
    ? await corpusMedia(bucket, params.corpusId, identity.modality)
    : await datasetMedia(bucket, params.datasetId ?? '', identity.modality);
  progress.setTotal(source.tasks.length);

  progress.note('checking the cache');
  const index = new FeatureIndex(bucket, key);
  const adopted = await adoptOrphanShards(bucket, index);
  const { hits, misses, recompute } = await partition(bucket, index, source.tasks, params.verify);
  progress.set(hits);
  metrics.items.inc({ outcome: 'hit', kind }, hits);
  logger.info({ encoderKey: key, media: source.tasks.length, hits, misses: misses.length }, 'cache checked');

  const result: FeatureJobResult = {
    encoderKey: key,
    modality: identity.modality,
    requestedEp,
    ep: null,
    fallbackReason: null,
    items: source.items,
    media: source.tasks.length,
    skipped: source.skipped,
    hits,
    computed: 0,
    recomputed: 0,
    failed: 0,
    failures: [],
    adoptedShards: adopted.adopted.length,
    shardsWritten: 0,
    computeSeconds: 0,
    itemsPerSecond: 0,
  };
  if (misses.length === 0) {
    progress.note(`all ${hits} cached`);
    return result;
  }

  progress.note('loading the encoder');
  const runner: EncoderRunner = await encoder.open({
    ep: requestedEp,
    threads: settings.threads || undefined,
  });
  result.ep = runner.ep;
  result.fallbackReason = runner.fallbackReason;
  if (runner.fallbackReason) {
    metrics.fallbacks.inc({ requested: requestedEp, used: runner.ep });
    logger.warn({ reason: runner.fallbackReason }, 'execution provider fallback');
  }
  const started = performance.now();
  try {
    for (const batch of batches(misses, batchSize)) {
      signal.throwIfAborted();
      const t0 = performance.now();
      const { written, failures } = await computeBatch(bucket, runner, key, batch);
      const seconds = (performance.now() - t0) / 1000;
      result.computed += written.length;
      result.recomputed += written.filter((sha) => recompute.has(sha)).length;
      result.failed += failures.length;
      result.shardsWritten += written.length ? 1 : 0;
      for (const f of failures) if (result.failures.length < MAX_LISTED_FAILURES) result.failures.push(f);
      result.computeSeconds = (performance.now() - started) / 1000;
      result.itemsPerSecond = result.computed / Math.max(result.computeSeconds, 1e-9);

      metrics.items.inc({ outcome: 'computed', kind }, written.length);
      metrics.items.inc({ outcome: 'failed', kind }, failures.length);
      metrics.batchSeconds.observe({ ep: runner.ep }, seconds);
      metrics.itemsPerSecond.set({ ep: runner.ep, kind }, written.length / Math.max(seconds, 1e-9));
      progress.advance(batch.length, failures.length);
      progress.note(
        `hits ${hits}, computed ${result.computed}, failed ${result.failed}; ${result.itemsPerSecond.toFixed(1)} items/s on ${runner.ep}`,
      );
    }
  } finally {
    await runner.close();
  }
  metrics.items.inc({ outcome: 'recomputed', kind }, result.recomputed);
  return result;
}

/** Fetches, encodes and publishes one batch; returns the shas written and the failures. */
async function computeBatch(
  bucket: Bucket,
  runner: EncoderRunner,
  encoderKey: string,
  batch: MediaTask[],
): Promise<{ written: string[]; failures: FeatureJobResult['failures'] }> {
  const failures: FeatureJobResult['failures'] = [];
  const fail = (task: MediaTask, detail: string) =>
    failures.push({ sha256: task.sha256, ...(task.itemId ? { itemId: task.itemId } : {}), detail });
  const fetched = await Promise.allSettled(batch.map((task) => bucket.getBuffer(task.key)));
  const ready: { task: MediaTask; bytes: Uint8Array }[] = [];
  fetched.forEach((f, i) => {
    if (f.status === 'fulfilled') ready.push({ task: batch[i], bytes: f.value });
    else fail(batch[i], `media ${batch[i].key}: ${(f.reason as Error).message}`);
  });
  const outcomes = ready.length ? await runner.encode(ready.map((r) => r.bytes)) : [];
  const items: ShardItem[] = [];
  outcomes.forEach((outcome, i) => {
    if ('block' in outcome) items.push({ sha256: ready[i].task.sha256, block: outcome.block });
    else fail(ready[i].task, outcome.error.message);
  });
  if (items.length) {
    const { bytes, segment } = buildShard(encoderKey, newShardId(), items);
    await publishShard(bucket, bytes, segment);
  }
  return { written: items.map((i) => i.sha256), failures };
}
