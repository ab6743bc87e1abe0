// A training run's contracts: the run spec (everything a run is asked to do: a stored object,
// `runs/<id>/spec.json`, and the trainer's POST /v1/runs payload), its state
// (`runs/<id>/state.json`) and the lines of `runs/<id>/metrics.jsonl`. Shape checks only (types,
// ranges, one-of rules); the checks that need the world (does the dataset exist, does the LM have
// the image token, do encoder and projector widths agree) are @mmit/train's preflight.
import { z } from 'zod';
import { ProblemSchema } from './errors.js';
import { EncoderKeySchema, EncoderSpecSchema, ExecutionProviderSchema } from './features.js';
import { DatasetId, JobId, RunId } from './ids.js';
import { ModalitySchema } from './item.js';

/** LLaVA's projector types (@mmit/models builds them). */
export const projectorTypes = ['linear', 'mlp2x_gelu'] as const;
export type ProjectorType = (typeof projectorTypes)[number];

/** PEFT's module names of the LM's linear layers a LoRA adapter can wrap. */
export const loraTargets = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;
export type LoraTarget = (typeof loraTargets)[number];

const learningRate = (what: string) =>
  z.number().refine((v) => v > 0 && Number.isFinite(v), {
    message: `${what} must be a finite number > 0 (e.g. 1e-3 for a projector, 2e-4 for LoRA)`,
  });

export const TEMPLATES = ['plain', 'chat'] as const;

export const RunEncoderSchema = z
  .object({
    /** An encoder key whose features are already cached (`GET /v1/features` lists them). */
    key: EncoderKeySchema.optional(),
    /** Or the encoder itself: the features service computes (or finds) its features for the dataset. */
    spec: EncoderSpecSchema.optional(),
  })
  .refine((e) => e.key !== undefined || e.spec !== undefined, {
    message: 'give encoder.key (cached features) or encoder.spec (an encoder checkpoint), or both',
  })
  .meta({ id: 'RunEncoder' });

/** The fields TrainingSettings and RunSpec share: one list, so their defaults cannot drift apart. */
const trainingSettingsFields = z.object({
  projector: z
    .object({
      type: z.enum(projectorTypes).default('mlp2x_gelu'),
      /** Feature width the projector takes; checked against the encoder when given. */
      inputDim: z.number().int().positive().optional(),
    })
    .default({ type: 'mlp2x_gelu' }),
  lora: z
    .object({
      rank: z.number().int().min(1).max(1024),
      alpha: z.number().positive(),
      targets: z.array(z.enum(loraTargets)).min(1).default(['q_proj', 'v_proj']),
    })
    .optional(),
  optimizer: z
    .object({
      lr: learningRate('optimizer.lr').default(1e-3),
      /** Learning rate of the LoRA adapters (default: optimizer.lr). */
      loraLr: learningRate('optimizer.loraLr').optional(),
      betas: z.tuple([z.number().min(0).max(0.99999), z.number().min(0).max(0.999999)]).default([0.9, 0.999]),
      eps: z.number().positive().default(1e-8),
      weightDecay: z.number().min(0).max(1).default(0),
      /** Decay biases too (torch's AdamW on all parameters); off = transformers Trainer's rule. */
      decayBiases: z.boolean().default(false),
    })
    .default({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, decayBiases: false }),
  schedule: z
    .object({
      type: z.enum(['cosine', 'constant']).default('cosine'),
      /** Warm-up steps; default: warmupRatio of the total. */
      warmupSteps: z.number().int().min(0).optional(),
      warmupRatio: z.number().min(0).max(1).default(0.03),
      minLrRatio: z.number().min(0).max(1).default(0),
    })
    .default({ type: 'cosine', warmupRatio: 0.03, minLrRatio: 0 }),
  batchSize: z.number().int().min(1).max(4096).default(16),
  gradAccumulation: z.number().int().min(1).max(1024).default(1),
  /** Global-norm clipping threshold; null turns clipping off. */
  maxGradNorm: z.number().positive().nullable().default(1),
  epochs: z.number().int().min(1).max(10_000).optional(),
  steps: z.number().int().min(1).max(10_000_000).optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(0),
  template: z.enum(TEMPLATES).default('plain'),
  maxSeqLen: z.number().int().min(8).max(131_072).default(2048),
  /**
   * Batches are right-padded to a multiple of this many tokens, so sequence lengths recur and
   * onnxruntime reuses its plan for a shape instead of preparing a new one for every length
   * (padding is masked and unlabelled: losses and gradients are unchanged). 1 turns it off.
   */
  padToMultipleOf: z.number().int().min(1).max(256).default(16),
  /**
   * Batches of samples of similar length (less padding; LLaVA's length-grouped sampler) or of
   * any length (transformers' Trainer default). Off when question kinds differ in length and
   * every step should see all of them.
   */
  groupByLength: z.boolean().default(true),
  /** Validation loss every N optimizer steps (0: only at the end). */
  evalEvery: z.number().int().min(0).default(0),
  /** Checkpoint every N optimizer steps (0: only at the end). */
  checkpointEvery: z.number().int().min(0).default(0),
  ep: ExecutionProviderSchema.default('cpu'),
  threads: z.number().int().min(1).max(256).optional(),
});

/** Epochs or steps say how long a run is; both at once would be ambiguous. */
const notEpochsAndSteps = (s: { epochs?: number; steps?: number }) =>
  !(s.epochs !== undefined && s.steps !== undefined);
const epochsAndStepsError = { message: 'give epochs or steps, not both', path: ['steps'] };

/**
 * How a run trains, apart from what it trains on (dataset, encoder, LM, which samples it may
 * leave out) and its name: projector, optimizer, schedule, batching, template, seed. A RunSpec is
 * these plus its data and models; a run over features already in memory (the shapes example's
 * engine-only projector stage) parses its settings here, so it gets the trainer service's
 * defaults, schedule and optimizer.
 */
export const TrainingSettingsSchema = trainingSettingsFields.refine(notEpochsAndSteps, epochsAndStepsError);
export type TrainingSettings = z.output<typeof TrainingSettingsSchema>;
export type TrainingSettingsInput = z.input<typeof TrainingSettingsSchema>;

export const RunSpecSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    datasetId: DatasetId,
    encoder: RunEncoderSchema,
    lm: z.object({
      /** A checkpoint folder or Hugging Face repo id (Llama / Qwen2 family, or a LLaVA checkpoint). */
      checkpoint: z.string().min(1).max(1000),
      /**
       * For a repo id: a branch, tag or commit. The trainer records the commit it resolved to when
       * the run is created, so resumes, serving and export use exactly those files.
       */
      revision: z.string().min(1).max(200).optional(),
      /** Folder with tokenizer.json (default: the checkpoint's own). */
      tokenizer: z.string().min(1).max(1000).optional(),
      /** The token each feature row replaces. */
      imageToken: z.string().min(1).max(100).default('<image>'),
    }),
    ...trainingSettingsFields.shape,
    /**
     * Samples the run's encoder cannot serve (their modality has no encoder in this run, or their
     * media have no cached features) refuse the run at start by default, naming the counts; true
     * leaves them out instead (counted in the state's coverage, and warned about).
     */
    allowDrops: z.boolean().default(false),
  })
  .refine(notEpochsAndSteps, epochsAndStepsError)
  .meta({ id: 'RunSpec' });

export type RunSpec = z.output<typeof RunSpecSchema>;
export type RunSpecInput = z.input<typeof RunSpecSchema>;

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
    /** The projector's learning rate at this step. */
    lr: z.number(),
    /** Every parameter group's rate at this step, by group (projector, lora): LoRA may have its own. */
    lrs: z.record(z.string(), z.number()).optional(),
    gradNorm: z.number(),
    samples: Count,
    tokens: Count,
    stepSeconds: z.number().nonnegative(),
    samplesPerSec: z.number().nonnegative(),
    tokensPerSec: z.number().nonnegative(),
    etaSec: z.number().nonnegative(),
  })
  .meta({ id: 'StepMetrics' });
export type StepMetrics = z.infer<typeof StepMetricsSchema>;

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

/** Why samples are left out before training: the kinds a run refuses unless `allowDrops`, and the rest. */
export const DROP_KINDS = ['modality', 'features', 'no_media'] as const;
export const DropKindSchema = z.enum(DROP_KINDS);
export type DropKind = z.infer<typeof DropKindSchema>;

/**
 * What a run will train on, told before it starts: the dataset's samples per modality, which
 * encoder serves which modality, and the samples left out (how many, and why in words that say
 * what to do). Template and length drops come later, in `data`.
 */
export const RunCoverageSchema = z
  .object({
    /** Samples in the dataset. */
    samples: Count,
    /** The run's encoder: its features key and the modality it reads (null before it is known). */
    encoder: z.object({ key: z.string().nullable(), modality: ModalitySchema.nullable() }),
    /** Per modality ('unknown' for samples that name none): samples by split, and the encoder serving them. */
    modalities: z.record(
      z.string(),
      z.object({ samples: Count, train: Count, validation: Count, encoder: z.string().nullable() }),
    ),
    /** Samples that go on to the template (the dataset's minus the drops below). */
    usable: Count,
    drops: z.array(
      z.object({
        kind: DropKindSchema,
        modality: z.string().optional(),
        samples: Count,
        /** Distinct media behind them (features drops). */
        media: Count.optional(),
        reason: z.string(),
      }),
    ),
  })
  .meta({ id: 'RunCoverage' });
export type RunCoverage = z.infer<typeof RunCoverageSchema>;

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
    /** What the run trains on and what it leaves out, from the start (absent in runs made before it existed). */
    coverage: RunCoverageSchema.nullable().optional(),
    cancelRequested: z.boolean(),
    error: ProblemSchema.optional(),
    /** The trainer job that executes the run (its record says which replica holds it). */
    jobId: JobId.optional(),
  })
  .meta({ id: 'RunState' });
export type RunState = z.infer<typeof RunStateSchema>;
