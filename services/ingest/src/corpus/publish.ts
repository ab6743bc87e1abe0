// Publishing item records into a corpus, from any replica. Records are proposed by whoever ingested
// the bytes (an import unit, an upload); the publish step decides what they become and makes them
// visible, one batch at a time, under the corpus's publish lock:
// - exact duplicates: the source-bytes claim (`sources/<sha>.json`) names the first accepted item
//   with those bytes; a record whose bytes another item holds becomes a duplicate of it;
// - duplicates and rejected records leave a marker (`seen/<item>.json`): with the claim's holder,
//   that is how a rerun (the same source and bytes again) is recognised and not added twice;
// - near duplicates: accepted images are matched against the bucket-held LSH index;
// - the batch becomes one part file, and the manifest gains the part and its counts by
//   compare-and-swap, so any replica may publish to any corpus.
// Claims and markers name the part that recorded them; one whose part never reached the manifest
// (its publisher died first) is abandoned, and the lock guarantees nobody is still working on it.
// A batch is published at most once: a part the manifest lists already is read back, not redone.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CorpusManifest,
  CorpusManifestSchema,
  type ItemOutcome,
  type ItemRecord,
  ItemRecordSchema,
  JobLeaseSchema,
  keys,
} from '@mmit/contracts';
import { newInstanceId, OwnedObject, StalenessClock } from '@mmit/service-kit';
import { type Bucket, mapLimit, PreconditionFailedError } from '@mmit/storage';
import { z } from 'zod';
import { addToCounts } from './counts.js';
import { NearDuplicateIndex } from './near-duplicates.js';
import { ShardedEntries } from './sharded-entries.js';

/** A record offered for publishing, or an entry that needs no record (already in the corpus). */
export interface Proposal {
  index: number;
  source: string;
  record?: ItemRecord;
  /** Set instead of `record` when the entry's outcome is known without one (a rerun of a published item). */
  outcome?: ItemOutcome;
}

export const ProposalSchema = z.object({
  index: z.number().int().nonnegative(),
  source: z.string(),
  record: ItemRecordSchema.optional(),
  outcome: z.custom<ItemOutcome>().optional(),
});

export const SourceClaimSchema = z.object({
  /** The first accepted item with these bytes: duplicates copy its media. */
  holder: ItemRecordSchema.pick({ id: true, modality: true, media: true, image: true, audio: true }).extend({
    part: z.string(),
  }),
});
export type SourceClaim = z.infer<typeof SourceClaimSchema>;

/** A duplicate or rejected item in the corpus, recorded by `part`. */
export const SeenEntrySchema = z.object({
  id: z.string(),
  part: z.string(),
  status: z.enum(['duplicate', 'rejected']),
  duplicateOf: z.string().optional(),
});

const LockSchema = z.object({ lease: JobLeaseSchema.optional() });
const LOCK_TTL_MS = 30_000;

export class PublishLockError extends Error {
  constructor(corpusId: string) {
    super(
      `lost the publish lock of corpus ${corpusId} to another replica; the batch will be published again`,
    );
    this.name = 'PublishLockError';
  }
}

export function outcomeOf(index: number, source: string, record: ItemRecord): ItemOutcome {
  return {
    index,
    source,
    status: record.status,
    itemId: record.id,
    ...(record.duplicateOf ? { duplicateOf: record.duplicateOf } : {}),
    ...(record.image?.nearDuplicateOf ? { nearDuplicateOf: record.image.nearDuplicateOf.itemId } : {}),
    ...(record.rejection ? { error: { type: record.rejection.type, detail: record.rejection.detail } } : {}),
  };
}

export interface PublishLockOptions {
  signal?: AbortSignal;
  /**
   * Proof that this caller is the only one of its `owner` name who may publish now (a job's
   * lease): checked with the lock before every write, and what lets it take the lock at once from
   * an earlier holder of the same name, who can no longer pass this check itself.
   */
  ownership?: () => void;
}

/**
 * Runs `work` holding the corpus's publish lock: created if absent, renewed while held, taken over
 * when its holder stopped renewing for a whole lock period (observed here), or at once when the
 * holder has this caller's owner name and the caller proves it is that name's only live writer
 * (an import job's earlier owner, killed while publishing, would otherwise hold up its successor
 * for a whole lock period every time), released at the end.
 */
export async function withPublishLock<T>(
  bucket: Bucket,
  corpusId: string,
  owner: string,
  work: (check: () => void) => Promise<T>,
  options: PublishLockOptions = {},
): Promise<T> {
  const { signal, ownership } = options;
  const key = keys.corpusPublishLock(corpusId);
  const identity = { owner, instance: newInstanceId(), ttlMs: LOCK_TTL_MS };
  const staleness = new StalenessClock(Date.now);
  const lease = () => ({
    owner,
    instance: identity.instance,
    renewedAt: new Date().toISOString(),
    ttlSec: LOCK_TTL_MS / 1000,
  });
  let held: { etag: string } | undefined;
  while (!held) {
    signal?.throwIfAborted();
    try {
      held = await bucket.putJsonIfAbsent(key, { lease: lease() }, LockSchema);
      break;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
    const current = await bucket.getJsonVersioned(key, LockSchema);
    const earlierSelf = ownership !== undefined && current?.value.lease?.owner === owner;
    if (earlierSelf) ownership();
    if (current && (earlierSelf || staleness.isStale(key, current.etag, LOCK_TTL_MS))) {
      held = await bucket.putJsonIfMatch(key, { lease: lease() }, current.etag, LockSchema).catch((err) => {
        if (err instanceof PreconditionFailedError) return undefined;
        throw err;
      });
      if (held) break;
    }
    await sleep(100 + Math.random() * 200);
  }
  const lock = new OwnedObject({
    bucket,
    key,
    schema: LockSchema,
    value: { lease: lease() },
    etag: held.etag,
    identity,
    merge: () => undefined,
  });
  const renewals = setInterval(() => lock.renew().catch(() => undefined), LOCK_TTL_MS / 3);
  try {
    return await work(() => {
      ownership?.();
      if (lock.lost || !lock.holds()) throw new PublishLockError(corpusId);
    });
  } finally {
    clearInterval(renewals);
    lock.close();
    if (!lock.lost) await bucket.delete(key).catch(() => undefined);
  }
}

export interface PublishOptions {
  bucket: Bucket;
  corpusId: string;
  /** The part this batch becomes (deterministic per batch: a rerun publishes the same part). */
  part: string;
  /** Sorts this batch's near-duplicate entries among everyone's (e.g. the job's start time). */
  order: string;
  /** Shared across the batches of one publish step, so index objects are read once. */
  near?: NearDuplicateIndex;
  seen?: ShardedEntries<z.infer<typeof SeenEntrySchema>>;
  /** Called under the lock before each write that must not be done by a replica that lost it. */
  check?: () => void;
}

/** Decides and publishes one batch (call it holding the publish lock); returns every entry's outcome. */
export async function publishBatch(options: PublishOptions, proposals: Proposal[]): Promise<ItemOutcome[]> {
  const { bucket, corpusId, part } = options;
  const check = options.check ?? (() => {});
  const manifest = await bucket.getJson(keys.corpusManifest(corpusId), CorpusManifestSchema);
  const published = new Set(manifest.parts.map((p) => p.part));
  if (published.has(part)) return readBack(bucket, manifest, part, proposals);
  const isLive = (claimPart: string) => published.has(claimPart) || claimPart === part;
  const near =
    options.near ?? new NearDuplicateIndex(bucket, corpusId, manifest.options.nearDuplicateThreshold);
  const seen = options.seen ?? new ShardedEntries(bucket, SeenEntrySchema);

  const records: ItemRecord[] = [];
  const outcomes: ItemOutcome[] = [];
  const claims = new Map<string, { value?: SourceClaim; etag?: string }>();
  // Everything the decisions below read, fetched many at once first.
  const proposed = proposals.flatMap((p) => (p.record ? [p.record] : []));
  const shas = [
    ...new Set(proposed.filter((r) => r.status !== 'rejected').map((r) => String(r.extra.sourceSha256))),
  ];
  await Promise.all([
    seen.prefetch(proposed.map((r) => keys.corpusSeenShard(corpusId, r.id))),
    near.prefetch(proposed.flatMap((r) => (r.image ? [r.image.phash] : []))),
    mapLimit(shas, 16, async (sha) => {
      const read = await bucket.getJsonVersioned(keys.corpusSourceClaim(corpusId, sha), SourceClaimSchema);
      claims.set(sha, { value: read?.value, etag: read?.etag });
    }),
  ]);
  for (const proposal of [...proposals].sort((a, b) => a.index - b.index)) {
    const { index, source } = proposal;
    if (!proposal.record) {
      outcomes.push(proposal.outcome!);
      continue;
    }
    let record = proposal.record;
    const seenKey = keys.corpusSeenShard(corpusId, record.id);
    const marker = (await seen.entries(seenKey)).find((e) => e.id === record.id);
    if (marker && published.has(marker.part) && marker.part !== part) {
      // Recorded by an earlier batch (a rerun of the same source): reported, not added again.
      outcomes.push({
        index,
        source,
        status: marker.status,
        itemId: record.id,
        ...(marker.duplicateOf ? { duplicateOf: marker.duplicateOf } : {}),
        ...(record.rejection
          ? { error: { type: record.rejection.type, detail: record.rejection.detail } }
          : {}),
      });
      continue;
    }
    if (record.status !== 'rejected') {
      const sha = String(record.extra.sourceSha256);
      const claimKey = keys.corpusSourceClaim(corpusId, sha);
      let claim = claims.get(sha);
      if (!claim) {
        const read = await bucket.getJsonVersioned(claimKey, SourceClaimSchema);
        claim = { value: read?.value, etag: read?.etag };
        claims.set(sha, claim);
      }
      // A holder whose part never reached the manifest was abandoned by a publisher that died.
      const holder = claim.value && isLive(claim.value.holder.part) ? claim.value.holder : undefined;
      if (holder && holder.id === record.id && holder.part !== part) {
        outcomes.push({ index, source, status: 'accepted', itemId: record.id });
        continue;
      }
      if (holder && holder.id !== record.id) {
        const { media, image, audio, modality } = holder;
        record = {
          ...record,
          modality,
          status: 'duplicate',
          duplicateOf: holder.id,
          ...(media ? { media } : {}),
          ...(image ? { image: { ...image, nearDuplicateOf: undefined } } : {}),
          ...(audio ? { audio } : {}),
        };
      } else {
        record = { ...record, status: 'accepted', duplicateOf: undefined };
        const { id, modality, media, image, audio } = record;
        const value: SourceClaim = { holder: { id, modality, media, image, audio, part } };
        check();
        const written = claim.etag
          ? await bucket.putJsonIfMatch(claimKey, value, claim.etag, SourceClaimSchema)
          : await bucket.putJsonIfAbsent(claimKey, value, SourceClaimSchema);
        claims.set(sha, { value, etag: written.etag });
      }
    }
    if (record.status !== 'accepted' && !marker) {
      await seen.add(seenKey, {
        id: record.id,
        part,
        status: record.status,
        ...(record.duplicateOf ? { duplicateOf: record.duplicateOf } : {}),
      });
    }
    if (record.status === 'accepted' && record.image) {
      const match = await near.match({
        id: record.id,
        phash: record.image.phash,
        order: `${options.order}/${String(index).padStart(9, '0')}`,
      });
      record = { ...record, image: { ...record.image, nearDuplicateOf: match } };
    }
    records.push(record);
    outcomes.push(outcomeOf(index, source, record));
  }

  check();
  await near.flush();
  await seen.flush();
  if (records.length > 0) {
    const body = `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;
    await bucket.putBuffer(keys.corpusItems(corpusId, part), body, { contentType: 'application/x-ndjson' });
  }
  check();
  await bucket.updateJson(keys.corpusManifest(corpusId), CorpusManifestSchema, (current) => {
    if (!current || current.parts.some((p) => p.part === part) || records.length === 0) return undefined;
    return {
      ...current,
      counts: records.reduce(addToCounts, current.counts),
      parts: [...current.parts, { part, items: records.length }],
      updatedAt: new Date().toISOString(),
      version: current.version + 1,
    };
  });
  return outcomes;
}

/** A batch whose part is published already: its outcomes from the stored part. */
async function readBack(
  bucket: Bucket,
  manifest: CorpusManifest,
  part: string,
  proposals: Proposal[],
): Promise<ItemOutcome[]> {
  const text = (await bucket.getBuffer(keys.corpusItems(manifest.id, part))).toString('utf8');
  const byId = new Map(
    text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => ItemRecordSchema.parse(JSON.parse(l)))
      .map((r) => [r.id, r]),
  );
  return [...proposals]
    .sort((a, b) => a.index - b.index)
    .map((p) => {
      if (!p.record) return p.outcome!;
      const stored = byId.get(p.record.id);
      return stored
        ? outcomeOf(p.index, p.source, stored)
        : { index: p.index, source: p.source, status: p.record.status, itemId: p.record.id };
    });
}
