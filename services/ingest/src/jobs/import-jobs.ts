// Import jobs: start one in the background, keep its record current (progress throttled to one
// write a second, checkpoints after every published part), and pick up, after a restart, the
// jobs an earlier process left unfinished, from their last checkpoint.
//
// While a job runs its record's `result` holds `{ checkpoint: { resumeAt, summary } }`; when it
// succeeds, `result` is the ImportSummary.
import {
  type ImportRequest,
  ImportRequestSchema,
  type ImportSummary,
  ImportSummarySchema,
  type JobRecord,
  problem,
} from '@mmit/contracts';
import { StorageError, StorageUnavailableError } from '@mmit/storage';
import { z } from 'zod';
import { allowedLocalPath } from '../pipeline/import-source.js';
import { type ImportContext, ImportInterruptedError, runImport } from '../pipeline/run-import.js';
import { type JobStore, progressOf } from './job-store.js';

export const IMPORT_JOB_KIND = 'import';

export const ImportJobParamsSchema = z.object({ corpusId: z.string(), request: ImportRequestSchema });
export type ImportJobParams = z.infer<typeof ImportJobParamsSchema>;

const CheckpointSchema = z.object({
  checkpoint: z.object({ resumeAt: z.number().int().nonnegative(), summary: ImportSummarySchema }),
});

export interface ImportJobs {
  start(corpusId: string, request: ImportRequest): Promise<JobRecord>;
  resumePending(): Promise<number>;
  /** Resolves when every job started by this process has settled. */
  idle(): Promise<void>;
}

function failureOf(err: unknown) {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof StorageUnavailableError) return problem('storage_unavailable', message);
  const code = (err as { problemCode?: string } | null)?.problemCode;
  if (code === 'too_many_entries' || code === 'validation' || code === 'not_found')
    return problem(code, message);
  if (err instanceof StorageError) return problem('storage_unavailable', message);
  return problem('job_failed', message);
}

export function importJobs(
  context: ImportContext,
  jobs: JobStore,
  log: (msg: string) => void,
  /** Aborted at shutdown: running imports checkpoint and stay `queued` for the next start. */
  shutdown?: AbortSignal,
): ImportJobs {
  const running = new Set<Promise<void>>();

  async function run(record: JobRecord): Promise<void> {
    const { corpusId, request } = ImportJobParamsSchema.parse(record.params);
    const saved = CheckpointSchema.safeParse(record.result);
    const checkpoint = saved.success ? saved.data.checkpoint : undefined;
    const startedAt = Date.now();
    const doneAtStart = checkpoint?.summary.entries ?? 0;
    let lastWrite = 0;
    await jobs.update(record.id, {
      status: 'running',
      startedAt: record.startedAt ?? new Date().toISOString(),
    });
    try {
      const summary: ImportSummary = await runImport(context, corpusId, request, {
        ...(checkpoint ? { resumeAt: checkpoint.resumeAt, summarySoFar: checkpoint.summary } : {}),
        ...(shutdown ? { signal: shutdown } : {}),
        progress: ({ done, total, failed }) => {
          const persist = Date.now() - lastWrite > 1000;
          if (persist) lastWrite = Date.now();
          jobs
            .update(record.id, { progress: progressOf(done, total, failed, startedAt, doneAtStart) }, persist)
            .catch(() => undefined);
        },
        checkpoint: async (resumeAt, summarySoFar) => {
          await jobs.update(record.id, { result: { checkpoint: { resumeAt, summary: summarySoFar } } });
        },
      });
      const final = await jobs.get(record.id);
      await jobs.update(record.id, {
        status: 'succeeded',
        result: summary,
        progress: { ...final.progress, done: summary.entries, total: summary.entries, etaSec: 0 },
        finishedAt: new Date().toISOString(),
      });
      log(`import ${record.id} into ${corpusId}: ${summary.accepted} accepted, ${summary.rejected} rejected`);
    } catch (err) {
      if (err instanceof ImportInterruptedError) {
        log(`import ${record.id} into ${corpusId} interrupted; it resumes on the next start`);
        await jobs.update(record.id, { status: 'queued' }).catch(() => undefined);
        return;
      }
      log(`import ${record.id} into ${corpusId} failed: ${(err as Error).message}`);
      await jobs
        .update(record.id, { status: 'failed', error: failureOf(err), finishedAt: new Date().toISOString() })
        .catch(() => undefined);
    }
  }

  function launch(record: JobRecord): void {
    const task = run(record).finally(() => running.delete(task));
    running.add(task);
  }

  return {
    async start(corpusId, request) {
      // Refuse now (404, 400) rather than with a failed job later.
      await context.store.manifest(corpusId);
      if (request.source.type === 'path') await allowedLocalPath(request.source.path, context.importRoots);
      const record = await jobs.create(IMPORT_JOB_KIND, { corpusId, request } satisfies ImportJobParams);
      launch(record);
      return record;
    },
    async resumePending() {
      const pending = (await jobs.unfinished()).filter((job) => job.kind === IMPORT_JOB_KIND);
      for (const job of pending) {
        launch(await jobs.update(job.id, { attempt: job.attempt + 1, status: 'queued' }));
      }
      return pending.length;
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}
