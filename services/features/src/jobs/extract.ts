// The `extract` job: make sure every media item of a corpus or dataset has features under one
// encoder key. It is a split job of the engine, so any number of feature replicas share it:
// - plan (once, by whichever replica owns the job): resolve the encoder, list the media, index
//   shards a crashed writer left without a segment, count cache hits (re-verifying their checksums
//   unless told not to), and cut the misses into units of one batch each;
// - units (claimed one at a time by any replica): compute one batch and publish it as one shard,
//   whose id is derived from the job and the unit, so a unit run twice (its replica died after
//   publishing, or lost its lease) finds its shard already published and counts it instead of
//   writing it again;
// - finish: add the units' counts into the job's result.
import { createHash } from 'node:crypto';
import {
  ExecutionProviderSchema,
  type FeatureJobRequest,
  FeatureJobRequestSchema,
  type FeatureJobResult,
  keys,
  ModalitySchema,
  Sha256Schema,
} from '@mmit/contracts';
import {
  adoptOrphanShards,
  buildShard,
  FeatureIndex,
  IndexSegmentSchema,
  recordEncoder,
  type ShardItem,
  verifyEntries,
} from '@mmit/features';
import { describeHubProgress } from '@mmit/models';
import { isStorageOutage, type JobContext, type SplitJobKind, type UnitContext } from '@mmit/service-kit';
import { type Bucket, PreconditionFailedError } from '@mmit/storage';
import type { ExecutionProvider } from '@mmit/tensor';
import { z } from 'zod';
import type { EncoderPool } from '../encoders/pool.js';
import type { EncoderRunner } from '../encoders/runner.js';
import type { FeatureMetrics } from '../metrics.js';
import { corpusMedia, datasetMedia, type MediaTask } from '../sources.js';

export interface ExtractSettings {
  bucket: Bucket;
  metrics: FeatureMetrics;
  ep: ExecutionProvider;
  batchSize: number;
  threads: number;
  encoders: EncoderPool;
}

const MAX_LISTED_FAILURES = 100;

const MediaTaskSchema = z.object({
  sha256: Sha256Schema,
  key: z.string(),
  modality: ModalitySchema,
  itemId: z.string().optional(),
});

/** One unit: a batch of media to compute, and which of them replace a corrupt cached copy. */
const ExtractUnitSchema = z.object({
  tasks: z.array(MediaTaskSchema),
  recompute: z.array(Sha256Schema),
});

/** What the planner found, shared with every unit and the finish step. */
const ExtractSharedSchema = z.object({
  encoderKey: z.string(),
  modality: ModalitySchema,
  requestedEp: ExecutionProviderSchema,
  items: z.number().int().nonnegative(),
  media: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  hits: z.number().int().nonnegative(),
  adoptedShards: z.number().int().nonnegative(),
  /** The job's creation time in ms: the time part of its shards' ids, so they sort with the job. */
  shardTime: z.number().int().nonnegative(),
});
type ExtractShared = z.infer<typeof ExtractSharedSchema>;

/** What one unit did (the finish step adds them up). */
interface UnitResult {
  computed: number;
  recomputed: number;
  failed: number;
  failures: FeatureJobResult['failures'];
  shards: number;
  ep: ExecutionProvider | null;
  fallbackReason: string | null;
  computeSeconds: number;
}

function batches<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A unit's shard id: time from the job, 8 hex from (job, unit): the same for every run of the unit. */
export function unitShardId(shardTime: number, jobId: string, n: number): string {
  const hex = createHash('sha256').update(`${jobId}/${n}`).digest('hex').slice(0, 8);
  return `s-${shardTime.toString(36).padStart(9, '0')}-${hex}`;
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

export function extractJob(
  settings: ExtractSettings,
): SplitJobKind<
  typeof FeatureJobRequestSchema,
  typeof ExtractUnitSchema,
  typeof ExtractSharedSchema,
  UnitResult,
  FeatureJobResult
> {
  const { bucket, metrics } = settings;

  async function plan(ctx: JobContext<FeatureJobRequest>) {
    const { params, progress, logger } = ctx;
    progress.note('resolving encoder');
    const encoder = await settings.encoders.acquire(params.encoder, {
      onProgress: (p) => progress.note(describeHubProgress(p)),
    });
    try {
      const { key, identity } = encoder.resolved;
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
      progress.note('checking the cache');
      const index = new FeatureIndex(bucket, key);
      const adopted = await adoptOrphanShards(bucket, index);
      const { hits, misses, recompute } = await partition(bucket, index, source.tasks, params.verify);
      metrics.items.inc({ outcome: 'hit', kind: identity.kind }, hits);
      logger.info(
        { encoderKey: key, media: source.tasks.length, hits, misses: misses.length },
        'cache checked',
      );
      const shared: ExtractShared = {
        encoderKey: key,
        modality: identity.modality,
        requestedEp: params.ep ?? settings.ep,
        items: source.items,
        media: source.tasks.length,
        skipped: source.skipped,
        hits,
        adoptedShards: adopted.adopted.length,
        shardTime: Date.now(),
      };
      const units = batches(misses, params.batchSize ?? settings.batchSize).map((tasks) => ({
        input: { tasks, recompute: tasks.filter((t) => recompute.has(t.sha256)).map((t) => t.sha256) },
        size: tasks.length,
      }));
      return { units, shared, done: hits };
    } finally {
      encoder.release();
    }
  }

  async function runUnit(
    ctx: UnitContext<FeatureJobRequest, z.infer<typeof ExtractUnitSchema>> & { shared: ExtractShared },
  ): Promise<UnitResult> {
    const { id, n, unit, shared, params, progress, signal } = ctx;
    const shardId = unitShardId(shared.shardTime, id, n);
    const segmentKey = keys.featureIndexSegment(shared.encoderKey, shardId);
    // An earlier run of this unit published its shard: count that, compute nothing.
    const published = await bucket.getJsonIfExists(segmentKey, IndexSegmentSchema);
    if (published)
      return resultOfPublished(
        unit.tasks.length,
        published.entries.map((e) => e.sha256),
        unit.recompute,
      );

    const encoder = await settings.encoders.acquire(params.encoder);
    try {
      const kind = encoder.resolved.identity.kind;
      const runner = await encoder.runner({ ep: shared.requestedEp, threads: settings.threads || undefined });
      if (runner.fallbackReason) metrics.fallbacks.inc({ requested: shared.requestedEp, used: runner.ep });
      signal.throwIfAborted();
      const t0 = performance.now();
      const { items, failures } = await computeBatch(bucket, runner, unit.tasks);
      if (items.length) {
        ctx.assertLease();
        const { bytes, segment } = buildShard(shared.encoderKey, shardId, items);
        await bucket.putBuffer(segment.shardKey, bytes, { contentType: 'application/octet-stream' });
        // The segment is the publish, exactly once: a twin run of this unit finds it taken.
        await bucket.putJsonIfAbsent(segmentKey, segment, IndexSegmentSchema).catch((err) => {
          if (!(err instanceof PreconditionFailedError)) throw err;
        });
      }
      const seconds = (performance.now() - t0) / 1000;
      const recomputed = items.filter((i) => unit.recompute.includes(i.sha256)).length;
      metrics.items.inc({ outcome: 'computed', kind }, items.length);
      metrics.items.inc({ outcome: 'failed', kind }, failures.length);
      metrics.items.inc({ outcome: 'recomputed', kind }, recomputed);
      metrics.batchSeconds.observe({ ep: runner.ep }, seconds);
      metrics.itemsPerSecond.set({ ep: runner.ep, kind }, items.length / Math.max(seconds, 1e-9));
      progress.advance(unit.tasks.length, failures.length);
      return {
        computed: items.length,
        recomputed,
        failed: failures.length,
        failures: failures.slice(0, MAX_LISTED_FAILURES),
        shards: items.length ? 1 : 0,
        ep: runner.ep,
        fallbackReason: runner.fallbackReason,
        computeSeconds: seconds,
      };
    } finally {
      encoder.release();
    }
  }

  async function finish(
    ctx: JobContext<FeatureJobRequest> & { shared: ExtractShared },
    results: UnitResult[],
  ): Promise<FeatureJobResult> {
    const { shared } = ctx;
    const ran = results.find((r) => r.ep !== null);
    const computeSeconds = results.reduce((s, r) => s + r.computeSeconds, 0);
    const computed = results.reduce((s, r) => s + r.computed, 0);
    const failed = results.reduce((s, r) => s + r.failed, 0);
    ctx.progress.note(
      results.length === 0
        ? `all ${shared.hits} cached`
        : `hits ${shared.hits}, computed ${computed}, failed ${failed}`,
    );
    return {
      encoderKey: shared.encoderKey,
      modality: shared.modality,
      requestedEp: shared.requestedEp,
      ep: ran?.ep ?? null,
      fallbackReason: ran?.fallbackReason ?? null,
      items: shared.items,
      media: shared.media,
      skipped: shared.skipped,
      hits: shared.hits,
      computed,
      recomputed: results.reduce((s, r) => s + r.recomputed, 0),
      failed,
      failures: results.flatMap((r) => r.failures).slice(0, MAX_LISTED_FAILURES),
      adoptedShards: shared.adoptedShards,
      shardsWritten: results.reduce((s, r) => s + r.shards, 0),
      computeSeconds,
      itemsPerSecond: computed / Math.max(computeSeconds, 1e-9),
    };
  }

  return {
    params: FeatureJobRequestSchema,
    unit: ExtractUnitSchema,
    shared: ExtractSharedSchema,
    plan,
    runUnit,
    finish,
  };
}

/** The result of a unit whose shard an earlier run already published. */
function resultOfPublished(tasks: number, published: string[], recompute: string[]): UnitResult {
  return {
    computed: published.length,
    recomputed: published.filter((sha) => recompute.includes(sha)).length,
    failed: tasks - published.length,
    failures: [],
    shards: 1,
    ep: null,
    fallbackReason: null,
    computeSeconds: 0,
  };
}

/** Fetches and encodes one batch; returns the items encoded and the failures. */
async function computeBatch(
  bucket: Bucket,
  runner: EncoderRunner,
  batch: MediaTask[],
): Promise<{ items: ShardItem[]; failures: FeatureJobResult['failures'] }> {
  const failures: FeatureJobResult['failures'] = [];
  const fail = (task: MediaTask, detail: string) =>
    failures.push({ sha256: task.sha256, ...(task.itemId ? { itemId: task.itemId } : {}), detail });
  const fetched = await Promise.allSettled(batch.map((task) => bucket.getBuffer(task.key)));
  // An unreachable store is not a bad item: the engine waits for it and runs the unit again.
  const outage = fetched.find((f) => f.status === 'rejected' && isStorageOutage(f.reason));
  if (outage?.status === 'rejected') throw outage.reason;
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
  return { items, failures };
}
