// Job records (`jobs/<service>/<id>.json`): long work (imports, synthesis, feature extraction,
// training) runs as a job whose record is an object in the bucket, so progress can be read by any
// replica and a restarted service can pick unfinished jobs up again.
import { z } from 'zod';
import { ProblemSchema } from './errors.js';
import { JobId } from './ids.js';

const Timestamp = z.iso.datetime();

export const JobStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type JobStatus = z.infer<typeof JobStatusSchema>;

/** Statuses after which a job never changes again. */
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export const JobProgressSchema = z
  .object({
    done: z.number().int().nonnegative(),
    /** Null while the total is still unknown (e.g. a streamed archive). */
    total: z.number().int().nonnegative().nullable(),
    failed: z.number().int().nonnegative().default(0),
    /** Units per second over the recent window. */
    rate: z.number().nonnegative(),
    /** Seconds left at the current rate; null when the total or rate is unknown. */
    etaSec: z.number().nonnegative().nullable(),
    /** What the unit is (items, samples, steps), for display. */
    unit: z.string().default('items'),
    /** A short human note on the current phase. */
    message: z.string().optional(),
  })
  .meta({ id: 'JobProgress' });
export type JobProgress = z.infer<typeof JobProgressSchema>;

export const JobRecordSchema = z
  .object({
    id: JobId,
    service: z.string(),
    kind: z.string(),
    status: JobStatusSchema,
    progress: JobProgressSchema,
    /** The validated request that started the job (its schema belongs to the job kind). */
    params: z.unknown(),
    result: z.unknown().optional(),
    error: ProblemSchema.optional(),
    /** 1 on the first run, +1 each time a restarted service resumes it. */
    attempt: z.number().int().positive(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    startedAt: Timestamp.optional(),
    finishedAt: Timestamp.optional(),
    cancelRequested: z.boolean().default(false),
  })
  .meta({ id: 'JobRecord' });
export type JobRecord = z.infer<typeof JobRecordSchema>;

/** One server-sent event on a job's progress stream (`event: job`, data = the record). */
export const JobEventSchema = z.object({ event: z.literal('job'), data: JobRecordSchema });
