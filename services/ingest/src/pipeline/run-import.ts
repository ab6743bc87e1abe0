// The work of one import, in the three steps of a split job (jobs/import-job.ts):
// - countEntries: how many entries the source yields (without reading their bytes), so the job can
//   be cut into ranges of entries;
// - ingestRange: one unit, the entries [from, to): each goes through `ingestItem` a few at a time
//   (decoding overlaps with storage round trips) into a batch of proposed records, staged in the
//   bucket at a name fixed by the job and unit (a unit run twice writes the same object);
// - publishStaged: the publish step, under the corpus's lock: every unit's proposals in order
//   become parts of the corpus (duplicates and near duplicates decided there), and the summary
//   counts every entry exactly once.
// A storage failure stops a unit with the error thrown (the job engine waits for the store and
// runs the unit again).
import {
  CorpusManifestSchema,
  type ImportRequest,
  type ImportSummary,
  type ItemOutcome,
  keys,
} from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import { CorpusBatch } from '../corpus/batch.js';
import { NearDuplicateIndex } from '../corpus/near-duplicates.js';
import {
  type Proposal,
  ProposalSchema,
  publishBatch,
  SeenEntrySchema,
  withPublishLock,
} from '../corpus/publish.js';
import { ShardedEntries } from '../corpus/sharded-entries.js';
import type { CorpusStore } from '../corpus/store.js';
import { type ImportItem, importEntries } from '../importers/index.js';
import { openImportSource } from './import-source.js';
import { type IngestSettings, ingestItem, refuseItem } from './ingest-item.js';

export class TooManyEntriesError extends Error {
  readonly problemCode = 'too_many_entries';
  constructor(readonly limit: number) {
    super(`the source holds more than ${limit} entries (options.maxEntries); split it or raise the limit`);
    this.name = 'TooManyEntriesError';
  }
}

/** Outcomes of entries that were not plainly accepted are listed in the summary up to this many. */
export const MAX_LISTED_OUTCOMES = 1000;

export interface ImportContext extends IngestSettings {
  store: CorpusStore;
  importRoots: string[];
  /** Items processed at once within a unit (default 4). */
  concurrency?: number;
}

export function emptySummary(corpusId: string, format: ImportRequest['format']): ImportSummary {
  return {
    corpusId,
    format,
    entries: 0,
    accepted: 0,
    duplicate: 0,
    nearDuplicate: 0,
    rejected: 0,
    rejectedByReason: {},
    notAccepted: [],
    durationSec: 0,
  };
}

export function tally(summary: ImportSummary, outcome: ItemOutcome): void {
  summary.entries++;
  if (outcome.status === 'accepted') {
    summary.accepted++;
    if (outcome.nearDuplicateOf) summary.nearDuplicate++;
  } else if (outcome.status === 'duplicate') summary.duplicate++;
  else {
    summary.rejected++;
    const reason = outcome.error?.type ?? 'internal';
    summary.rejectedByReason[reason] = (summary.rejectedByReason[reason] ?? 0) + 1;
  }
  if (
    (outcome.status !== 'accepted' || outcome.nearDuplicateOf) &&
    summary.notAccepted.length < MAX_LISTED_OUTCOMES
  ) {
    summary.notAccepted.push(outcome);
  }
}

function entriesOf(
  request: ImportRequest,
  opened: Awaited<ReturnType<typeof openImportSource>>,
  resumeAt: number,
  countOnly = false,
) {
  return importEntries(request.format, opened.tree, {
    resumeAt,
    ...(countOnly ? { countOnly } : {}),
    ...(request.options.columns ? { columns: request.options.columns } : {}),
    ...(opened.manifest ? { manifest: opened.manifest } : {}),
    ...(request.options.mediaRoot ? { mediaRoot: request.options.mediaRoot } : {}),
    ...(request.options.csv ? { csv: request.options.csv } : {}),
  });
}

/** How many entries the source yields; refuses a source over options.maxEntries. */
export async function countEntries(
  context: ImportContext,
  request: ImportRequest,
  signal?: AbortSignal,
): Promise<number> {
  const opened = await openImportSource(context.bucket, request.source, request.format, context.importRoots);
  try {
    let count = 0;
    for await (const _item of entriesOf(request, opened, 0, true)) {
      signal?.throwIfAborted();
      if (++count > request.options.maxEntries) throw new TooManyEntriesError(request.options.maxEntries);
    }
    return count;
  } finally {
    await opened.close();
  }
}

export interface RangeHooks {
  signal?: AbortSignal;
  /** Called as each entry is settled (failed: it was rejected). */
  progress?(failed: boolean): void;
  /** Throws unless this process still owns the unit (called before staging). */
  assertLease?(): void;
}

/** Ingests entries [from, to) into a batch and stages its proposals; returns how many entries it saw. */
export async function ingestRange(
  context: ImportContext,
  corpusId: string,
  request: ImportRequest,
  range: { from: number; to: number; staged: string },
  hooks: RangeHooks = {},
): Promise<number> {
  const batch = new CorpusBatch(context.bucket, await context.store.manifest(corpusId));
  const concurrency = context.concurrency ?? 4;
  const opened = await openImportSource(context.bucket, request.source, request.format, context.importRoots);
  const inFlight = new Set<Promise<void>>();
  let firstError: unknown;
  let seen = 0;

  const handle = async (item: ImportItem, bytes: Promise<Buffer> | undefined) => {
    const offered = {
      index: item.index,
      source: item.source,
      kind: item.type === 'entry' ? item.kind : ('image' as const),
    };
    const outcome =
      item.type === 'error'
        ? await refuseItem(batch, { ...offered, captions: [] }, { type: item.code, detail: item.detail })
        : await ingestItem(
            context,
            batch,
            { ...offered, captions: item.captions, ...(item.meta ? { meta: item.meta } : {}) },
            await bytes!,
          );
    hooks.progress?.(outcome.status === 'rejected');
  };

  try {
    for await (const item of entriesOf(request, opened, range.from)) {
      hooks.signal?.throwIfAborted();
      if (item.index >= range.to) break;
      seen++;
      // Start reading now: a streamed archive moves past this entry when the next one is pulled.
      const bytes = item.type === 'entry' ? item.open() : undefined;
      bytes?.catch(() => undefined);
      const task = handle(item, bytes).catch((err) => {
        firstError ??= err;
      });
      inFlight.add(task);
      task.finally(() => inFlight.delete(task));
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
      if (firstError) throw firstError;
    }
    await Promise.all(inFlight);
    if (firstError) throw firstError;
  } finally {
    await Promise.allSettled(inFlight);
    await opened.close();
  }
  hooks.assertLease?.();
  const body = batch
    .list()
    .map((p) => JSON.stringify(p))
    .join('\n');
  await context.bucket.putBuffer(range.staged, body.length ? `${body}\n` : '', {
    contentType: 'application/x-ndjson',
  });
  return seen;
}

async function readStaged(bucket: Bucket, key: string): Promise<Proposal[]> {
  const text = (await bucket.getBuffer(key)).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => ProposalSchema.parse(JSON.parse(line)) as Proposal);
}

/**
 * Publishes the staged units of an import job in order, under the corpus's publish lock, and
 * returns the summary: every entry counted once, whichever replica ingested it and however often.
 */
export async function publishStaged(
  bucket: Bucket,
  corpusId: string,
  request: ImportRequest,
  job: { id: string; order: string; units: number; assertLease?: () => void },
  signal?: AbortSignal,
): Promise<ImportSummary> {
  const summary = emptySummary(corpusId, request.format);
  const manifest = await bucket.getJson(keys.corpusManifest(corpusId), CorpusManifestSchema);
  const near = new NearDuplicateIndex(bucket, corpusId, manifest.options.nearDuplicateThreshold);
  const seen = new ShardedEntries(bucket, SeenEntrySchema);
  await withPublishLock(
    bucket,
    corpusId,
    `import ${job.id}`,
    async (check) => {
      for (let n = 0; n < job.units; n++) {
        const proposals = await readStaged(bucket, keys.corpusStaging(corpusId, job.id, n));
        const outcomes = await publishBatch(
          {
            bucket,
            corpusId,
            part: `p-${job.id}-${String(n).padStart(6, '0')}`,
            order: job.order,
            near,
            seen,
            check,
          },
          proposals,
        );
        for (const outcome of outcomes) tally(summary, outcome);
      }
    },
    { signal, ownership: job.assertLease },
  );
  return summary;
}
