// Runs one import: entries from the importer go through `ingestItem` a few at a time (decoding
// overlaps with storage round trips), records are published in parts, and after each publish the
// caller gets a checkpoint: the index below which every entry is durably recorded. A restarted
// job resumes from that index; anything after it that was already recorded is recognised by its
// derived item id and not added twice. A storage failure stops the import with the error thrown.
import type { ImportRequest, ImportSummary, ItemOutcome } from '@mmit/contracts';
import { type CorpusStore, PART_SIZE } from '../corpus/store.js';
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

/** The import stopped because the service is shutting down; its checkpoint lets it resume. */
export class ImportInterruptedError extends Error {
  constructor() {
    super(
      'the import was interrupted by a shutdown; it resumes from its checkpoint when the service starts again',
    );
    this.name = 'ImportInterruptedError';
  }
}

/** Outcomes of entries that were not plainly accepted are listed in the summary up to this many. */
export const MAX_LISTED_OUTCOMES = 1000;

export interface ImportProgress {
  done: number;
  total: number | null;
  failed: number;
}

export interface ImportHooks {
  /** Entries below this index were handled by an earlier attempt. */
  resumeAt?: number;
  /** The summary so far from earlier attempts (counts continue from it). */
  summarySoFar?: ImportSummary;
  progress?(progress: ImportProgress): void;
  /** Aborted at shutdown: the import publishes what it has, checkpoints, and stops. */
  signal?: AbortSignal;
  /** Every entry below `resumeAt` is published; persist both so a restart can continue. */
  checkpoint?(resumeAt: number, summary: ImportSummary): Promise<void>;
}

export interface ImportContext extends IngestSettings {
  store: CorpusStore;
  importRoots: string[];
  /** Items processed at once (default 4). */
  concurrency?: number;
  /** Publish at least this often while importing, in milliseconds (default 2000). */
  publishIntervalMs?: number;
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

function tally(summary: ImportSummary, outcome: ItemOutcome): void {
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

export async function runImport(
  context: ImportContext,
  corpusId: string,
  request: ImportRequest,
  hooks: ImportHooks = {},
): Promise<ImportSummary> {
  const started = Date.now();
  const corpus = await context.store.openCorpus(corpusId);
  const summary: ImportSummary = structuredClone(
    hooks.summarySoFar ?? emptySummary(corpusId, request.format),
  );
  const previousSec = summary.durationSec;
  const resumeAt = hooks.resumeAt ?? 0;
  const concurrency = context.concurrency ?? 4;
  const publishIntervalMs = context.publishIntervalMs ?? 2000;
  // Whatever an earlier, failed attempt left unpublished goes out first.
  await corpus.flush();

  const opened = await openImportSource(context.bucket, request.source, request.format, context.importRoots);
  let total: number | null = null;
  let failed = 0;
  // Entries at or above `resumeAt` finish out of order; `finished` holds those past the first gap.
  let contiguous = resumeAt;
  const finished = new Set<number>();
  const inFlight = new Set<Promise<void>>();
  let lastPublish = Date.now();

  const settle = (index: number, outcome: ItemOutcome) => {
    tally(summary, outcome);
    if (outcome.status === 'rejected') failed++;
    finished.add(index);
    while (finished.delete(contiguous)) contiguous++;
    hooks.progress?.({ done: summary.entries, total, failed });
  };

  const publish = async () => {
    const safeIndex = contiguous; // everything below it is recorded in memory now
    await corpus.flush();
    lastPublish = Date.now();
    summary.durationSec = previousSec + (Date.now() - started) / 1000;
    await hooks.checkpoint?.(safeIndex, structuredClone(summary));
  };

  const handle = async (item: ImportItem, bytes: Promise<Buffer> | undefined) => {
    const offered = {
      index: item.index,
      source: item.source,
      kind: item.type === 'entry' ? item.kind : ('image' as const),
    };
    if (item.type === 'error') {
      settle(
        item.index,
        refuseItem(corpus, { ...offered, captions: [] }, { type: item.code, detail: item.detail }),
      );
      return;
    }
    settle(
      item.index,
      await ingestItem(
        context,
        corpus,
        { ...offered, captions: item.captions, ...(item.meta ? { meta: item.meta } : {}) },
        await bytes!,
      ),
    );
  };

  let firstError: unknown;
  try {
    const entries = importEntries(request.format, opened.tree, {
      resumeAt,
      ...(opened.manifest ? { manifest: opened.manifest } : {}),
      ...(request.options.mediaRoot ? { mediaRoot: request.options.mediaRoot } : {}),
      ...(request.options.csv ? { csv: request.options.csv } : {}),
      onTotal: (n) => {
        total = n;
        hooks.progress?.({ done: summary.entries, total, failed });
      },
    });
    for await (const item of entries) {
      if (hooks.signal?.aborted) {
        await Promise.all(inFlight);
        await publish();
        throw new ImportInterruptedError();
      }
      if (item.index >= request.options.maxEntries) throw new TooManyEntriesError(request.options.maxEntries);
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
      if (corpus.unpublished >= PART_SIZE || Date.now() - lastPublish >= publishIntervalMs) await publish();
    }
    await Promise.all(inFlight);
    if (firstError) throw firstError;
    await publish();
  } finally {
    await Promise.allSettled(inFlight);
    await opened.close();
  }
  summary.durationSec = previousSec + (Date.now() - started) / 1000;
  return summary;
}
