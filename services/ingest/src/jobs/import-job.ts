// The `import` job kind for service-kit's JobRunner: one import of a source into a corpus. The
// runner stores the record, throttles progress, and resumes the job after a restart (as attempt
// 2, 3, ...); this handler turns that into runImport's hooks: a resumed attempt continues from its
// last checkpoint, and shutdown (the runner aborts the signal) publishes, checkpoints and stops.
import {
  CorpusId,
  type ImportRequest,
  ImportRequestSchema,
  type ImportSummary,
  type JobRecord,
} from '@mmit/contracts';
import type { JobKind, JobRunner, ProgressReporter } from '@mmit/service-kit';
import { z } from 'zod';
import { allowedLocalPath } from '../pipeline/import-source.js';
import { type ImportContext, type ImportProgress, runImport } from '../pipeline/run-import.js';
import { ImportCheckpoints } from './import-checkpoints.js';

export const IMPORT_JOB = 'import';

export const ImportJobParamsSchema = z.object({ corpusId: CorpusId, request: ImportRequestSchema });
export type ImportJobParams = z.infer<typeof ImportJobParamsSchema>;

export function importJob(context: ImportContext): JobKind<typeof ImportJobParamsSchema, ImportSummary> {
  const checkpoints = new ImportCheckpoints(context.bucket);
  return {
    params: ImportJobParamsSchema,
    async run({ id, params: { corpusId, request }, attempt, progress, signal, logger }) {
      const checkpoint = attempt > 1 ? await checkpoints.read(corpusId, id) : undefined;
      const summary = await runImport(context, corpusId, request, {
        ...(checkpoint ? { resumeAt: checkpoint.resumeAt, summarySoFar: checkpoint.summary } : {}),
        signal,
        progress: followProgress(progress),
        checkpoint: (resumeAt, summarySoFar) =>
          checkpoints.write(corpusId, id, { resumeAt, summary: summarySoFar }),
      });
      // The summary is the job's result now; a leftover checkpoint would only be clutter.
      await checkpoints.remove(corpusId, id).catch(() => undefined);
      progress.setTotal(summary.entries);
      logger.info(
        { corpusId, accepted: summary.accepted, rejected: summary.rejected },
        `import into ${corpusId} finished`,
      );
      return summary;
    },
  };
}

/**
 * Feeds runImport's absolute counts to the runner's reporter. Counted steps go in as throughput;
 * a step back (a resumed attempt restarts from its checkpoint, which the last stored progress may
 * have passed) is set as a jump, so it does not distort the rate.
 */
function followProgress(progress: ProgressReporter): (update: ImportProgress) => void {
  let { done, failed, total } = progress.snapshot();
  return (update) => {
    if (update.total !== total) progress.setTotal(update.total);
    if (update.done < done || update.failed < failed) progress.set(update.done, update.failed);
    else if (update.done > done || update.failed > failed)
      progress.advance(update.done - done, update.failed - failed);
    ({ done, failed, total } = update);
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
