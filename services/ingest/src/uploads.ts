// Uploaded archives are scratch space: once the import that reads one has finished (succeeded,
// failed or cancelled) its object is deleted, so uploads/ does not grow for good. An import that
// a shutdown interrupted stays queued and keeps its archive for the resumed attempt. (Refused
// requests delete their archive themselves, in routes.ts.) An upload serves one import.
import { TERMINAL_JOB_STATUSES } from '@mmit/contracts';
import type { JobRunner, Logger } from '@mmit/service-kit';
import type { Bucket } from '@mmit/storage';
import { IMPORT_JOB, ImportJobParamsSchema } from './jobs/import-job.js';

/** Subscribes to the runner's job updates; returns the unsubscribe. */
export function deleteUploadsOfFinishedImports(
  runner: JobRunner,
  bucket: Bucket,
  logger: Logger,
): () => void {
  return runner.onUpdate((record) => {
    if (record.kind !== IMPORT_JOB || !TERMINAL_JOB_STATUSES.includes(record.status)) return;
    const params = ImportJobParamsSchema.safeParse(record.params);
    if (!params.success || params.data.request.source.type !== 'upload') return;
    const { key } = params.data.request.source;
    bucket
      .delete(key)
      .catch((err: unknown) => logger.warn({ err, key }, 'could not delete a finished upload'));
  });
}
