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

/**
 * Who runs a job (or a unit of one) now. The owner rewrites the record at least every third of the
 * lease; a replica that sees the record unchanged for a whole lease (by its own clock, so clocks
 * need not agree) takes the job over. `instance` tells a restarted process from its previous life
 * under the same replica id, whose work it takes back at once.
 */
export const JobLeaseSchema = z
  .object({
    owner: z.string().min(1),
    instance: z.string().min(1),
    renewedAt: Timestamp,
    ttlSec: z.number().positive(),
  })
  .meta({ id: 'JobLease' });
export type JobLease = z.infer<typeof JobLeaseSchema>;

/** A split job's units: how many, and which have finished (kept by the job's owner). */
export const JobUnitsSummarySchema = z.object({
  total: z.number().int().nonnegative(),
  succeeded: z.array(z.number().int().nonnegative()),
  running: z.number().int().nonnegative().default(0),
});

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
    /** Absent while queued, and when the owner let go (shutdown): then any replica may claim it at once. */
    lease: JobLeaseSchema.optional(),
    /** Present once a split job is planned. */
    units: JobUnitsSummarySchema.optional(),
  })
  .meta({ id: 'JobRecord' });
export type JobRecord = z.infer<typeof JobRecordSchema>;

export const JobUnitStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed']);

/** One unit of a split job (`job-units/<service>/<job>/unit-<n>.json`), claimed by one replica at a time. */
export const JobUnitSchema = z.object({
  jobId: JobId,
  n: z.number().int().nonnegative(),
  status: JobUnitStatusSchema,
  attempt: z.number().int().positive(),
  lease: JobLeaseSchema.optional(),
  progress: z.object({
    done: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    total: z.number().int().nonnegative().nullable(),
  }),
  result: z.unknown().optional(),
  error: ProblemSchema.optional(),
  updatedAt: Timestamp,
});
export type JobUnit = z.infer<typeof JobUnitSchema>;

/** A split job's plan: the units' inputs and expected sizes, written once by whoever planned it. */
export const JobPlanSchema = z.object({
  jobId: JobId,
  units: z.array(z.object({ input: z.unknown(), size: z.number().int().nonnegative() })),
  /** What every unit and the finish step share (the kind's own shape). */
  shared: z.unknown(),
  /** Progress counted as done before any unit ran. */
  done: z.number().int().nonnegative().default(0),
  createdAt: Timestamp,
});
export type JobPlan = z.infer<typeof JobPlanSchema>;

/** One server-sent event on a job's progress stream (`event: job`, data = the record). */
export const JobEventSchema = z.object({ event: z.literal('job'), data: JobRecordSchema });
