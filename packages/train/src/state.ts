// The stored shape of a run besides its spec: `runs/<id>/state.json` (what it is doing, how far
// it got, the latest numbers) and the lines of `runs/<id>/metrics.jsonl` (one per step or eval).
// These describe stored objects and HTTP payloads, so they belong in @mmit/contracts; they live
// here until that package takes them over.
import { ProblemSchema, RunId } from '@mmit/contracts';
import { z } from 'zod';

export const RUN_STATUSES = [
  'queued',
  'preparing',
  'waiting_for_features',
  'running',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export const RunStatusSchema = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatusSchema>;
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

const Count = z.number().int().nonnegative();
const Timestamp = z.iso.datetime();

export const StepMetricsSchema = z
  .object({
    step: Count,
    totalSteps: Count,
    epoch: Count,
    loss: z.number(),
    lr: z.number(),
    gradNorm: z.number(),
    samples: Count,
    tokens: Count,
    stepSeconds: z.number().nonnegative(),
    samplesPerSec: z.number().nonnegative(),
    tokensPerSec: z.number().nonnegative(),
    etaSec: z.number().nonnegative(),
  })
  .meta({ id: 'StepMetrics' });

export const EvalMetricsSchema = z
  .object({ step: Count, loss: z.number(), samples: Count, targets: Count })
  .meta({ id: 'EvalMetrics' });

export const MetricsLineSchema = z.discriminatedUnion('type', [
  StepMetricsSchema.extend({ type: z.literal('step'), time: Timestamp }),
  EvalMetricsSchema.extend({ type: z.literal('eval'), time: Timestamp }),
]);
export type MetricsLine = z.infer<typeof MetricsLineSchema>;

export const RunDataCountsSchema = z
  .object({
    train: Count,
    validation: Count,
    /** Samples cut to maxSeqLen (kept). */
    truncated: Count,
    /** Samples left out, with the reasons counted. */
    dropped: Count,
    dropReasons: z.record(z.string(), Count),
  })
  .meta({ id: 'RunDataCounts' });
export type RunDataCounts = z.infer<typeof RunDataCountsSchema>;

export const RunStateSchema = z
  .object({
    id: RunId,
    name: z.string().optional(),
    status: RunStatusSchema,
    /** What the run is doing now, in words (e.g. which features job it waits for). */
    message: z.string().optional(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    startedAt: Timestamp.optional(),
    finishedAt: Timestamp.optional(),
    /** 1 on the first start; +1 on each resume (after a restart, or asked for). */
    attempt: z.number().int().positive(),
    step: Count,
    totalSteps: Count.nullable(),
    epoch: Count,
    samplesSeen: Count,
    tokensSeen: Count,
    latest: StepMetricsSchema.nullable(),
    lastEval: EvalMetricsSchema.nullable(),
    lastCheckpoint: z.object({ step: Count, prefix: z.string() }).nullable(),
    encoderKey: z.string().nullable(),
    featuresJob: z
      .object({ id: z.string(), status: z.string(), done: Count, total: Count.nullable() })
      .nullable(),
    data: RunDataCountsSchema.nullable(),
    cancelRequested: z.boolean(),
    error: ProblemSchema.optional(),
  })
  .meta({ id: 'RunState' });
export type RunState = z.infer<typeof RunStateSchema>;

export function initialRunState(id: string, name: string | undefined, at: Date): RunState {
  const time = at.toISOString();
  return {
    id,
    ...(name ? { name } : {}),
    status: 'queued',
    createdAt: time,
    updatedAt: time,
    attempt: 1,
    step: 0,
    totalSteps: null,
    epoch: 0,
    samplesSeen: 0,
    tokensSeen: 0,
    latest: null,
    lastEval: null,
    lastCheckpoint: null,
    encoderKey: null,
    featuresJob: null,
    data: null,
    cancelRequested: false,
  };
}
