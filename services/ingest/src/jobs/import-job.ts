// The `import` job kind: one import of a source into a corpus, split into units of entries so that
// any number of ingest replicas share it. The owner counts the source's entries and cuts them into
// ranges; any replica ingests a range and stages what it proposes; when every range is done, the
// owner publishes them in order (run-import.ts) and stores the summary as the job's result; once
// the job has ended, its staged records and an uploaded archive are deleted.
import {
  CorpusId,
  type ImportRequest,
  ImportRequestSchema,
  type ImportSummary,
  type JobRecord,
  keys,
  parseUploadKey,
} from '@mmit/contracts';
import type { JobRunner, SplitJobKind } from '@mmit/service-kit';
import { z } from 'zod';
import { allowedLocalPath } from '../pipeline/import-source.js';
import { countEntries, type ImportContext, ingestRange, publishStaged } from '../pipeline/run-import.js';

export const IMPORT_JOB = 'import';
/** At most this many units for an uploaded archive (see plan). */
const ARCHIVE_UNITS = 4;

export const ImportJobParamsSchema = z.object({ corpusId: CorpusId, request: ImportRequestSchema });
export type ImportJobParams = z.infer<typeof ImportJobParamsSchema>;

const RangeSchema = z.object({ from: z.number().int().nonnegative(), to: z.number().int().nonnegative() });
const SharedSchema = z.object({
  /** Sorts this import's images among the corpus's near-duplicate entries (a rerun decides the same). */
  order: z.string(),
  startedAt: z.number(),
});

export function importJob(
  context: ImportContext,
  unitEntries: number,
): SplitJobKind<
  typeof ImportJobParamsSchema,
  typeof RangeSchema,
  typeof SharedSchema,
  number,
  ImportSummary
> {
  return {
    params: ImportJobParamsSchema,
    unit: RangeSchema,
    shared: SharedSchema,
    async plan({ id, params, progress, signal }) {
      progress.note('counting entries');
      const total = await countEntries(context, params.request, signal);
      // Each unit of an uploaded archive reads it from its start (a tar streams, a zip is fetched
      // whole), so those are cut into a few large units rather than many small ones.
      const perUnit =
        params.request.source.type === 'upload'
          ? Math.max(unitEntries, Math.ceil(total / ARCHIVE_UNITS))
          : unitEntries;
      const units = [];
      for (let from = 0; from < total; from += perUnit) {
        const to = Math.min(total, from + perUnit);
        units.push({ input: { from, to }, size: to - from });
      }
      const startedAt = Date.now();
      return { units, shared: { order: `${new Date(startedAt).toISOString()}/${id}`, startedAt } };
    },
    async runUnit({ id, n, unit, params, progress, signal, assertLease }) {
      const staged = keys.corpusStaging(params.corpusId, id, n);
      // Every attempt reads its whole range again (and stages it anew), so its count starts over:
      // a unit redone after a kill or an outage counts each entry once, not once per attempt.
      progress.set(0, 0);
      return ingestRange(
        context,
        params.corpusId,
        params.request,
        { ...unit, staged },
        { signal, assertLease, progress: (failed) => progress.advance(1, failed ? 1 : 0) },
      );
    },
    async finish({ id, params, shared, progress, logger, assertLease }, seen) {
      progress.note('publishing');
      assertLease();
      // The publish step runs to its end once begun (a cancel arriving now is too late): a half-done
      // publish is only ever continued, by whoever owns the job next.
      const summary = await publishStaged(context.bucket, params.corpusId, params.request, {
        id,
        order: shared.order,
        units: seen.length,
        assertLease,
      });
      summary.durationSec = (Date.now() - shared.startedAt) / 1000;
      logger.info(
        { corpusId: params.corpusId, accepted: summary.accepted, rejected: summary.rejected },
        `import into ${params.corpusId} finished`,
      );
      return summary;
    },
    // Once the job's final record is stored, however it ended: its staged records go, and an
    // uploaded archive too (scratch space: an upload serves one import).
    async ended({ id, params }) {
      await context.bucket.deletePrefix(keys.corpusStagingPrefix(params.corpusId, id));
      const { source } = params.request;
      // The object and, for a resumable upload, its session records (they share the upload's prefix).
      if (source.type === 'upload')
        await context.bucket.deletePrefix(keys.uploadPrefix(parseUploadKey(source.key).uploadId));
    },
  };
}

/** Queues an import, refusing now (404, 400) what would only become a failed job later. */
export async function submitImport(
  runner: JobRunner,
  context: ImportContext,
  corpusId: string,
  request: ImportRequest,
): Promise<JobRecord> {
  await context.store.manifest(corpusId);
  if (request.source.type === 'path') await allowedLocalPath(request.source.path, context.importRoots);
  return runner.submit(IMPORT_JOB, { corpusId, request } satisfies ImportJobParams);
}
