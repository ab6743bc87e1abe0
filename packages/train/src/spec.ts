// The run spec: everything a training run is asked to do, validated at the edge. Shape checks
// only (types, ranges, one-of rules); checks that need the world (does the dataset exist, does
// the LM have the image token, do encoder and projector widths agree) are in preflight.ts.
// These schemas describe a stored object (`runs/<id>/spec.json`) and an HTTP payload, so they
// belong in @mmit/contracts; they live here until that package takes them over.
import { DatasetId } from '@mmit/contracts';
import { EncoderKeySchema, EncoderSpecSchema } from '@mmit/features';
import { loraTargetNames, projectorTypes } from '@mmit/models';
import { z } from 'zod';

const learningRate = (what: string) =>
  z.number().refine((v) => v > 0 && Number.isFinite(v), {
    message: `${what} must be a finite number > 0 (e.g. 1e-3 for a projector, 2e-4 for LoRA)`,
  });

export const TEMPLATES = ['plain', 'chat'] as const;
export const EXECUTION_PROVIDERS = ['cpu', 'webgpu', 'cuda'] as const;

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

export const RunSpecSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    datasetId: DatasetId,
    encoder: RunEncoderSchema,
    lm: z.object({
      /** A checkpoint folder or Hugging Face repo id (Llama / Qwen2 family, or a LLaVA checkpoint). */
      checkpoint: z.string().min(1).max(1000),
      /** Folder with tokenizer.json (default: the checkpoint's own). */
      tokenizer: z.string().min(1).max(1000).optional(),
      /** The token each feature row replaces. */
      imageToken: z.string().min(1).max(100).default('<image>'),
    }),
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
        targets: z
          .array(z.enum(Object.keys(loraTargetNames) as [keyof typeof loraTargetNames]))
          .min(1)
          .default(['q_proj', 'v_proj']),
      })
      .optional(),
    optimizer: z
      .object({
        lr: learningRate('optimizer.lr').default(1e-3),
        /** Learning rate of the LoRA adapters (default: optimizer.lr). */
        loraLr: learningRate('optimizer.loraLr').optional(),
        betas: z
          .tuple([z.number().min(0).max(0.99999), z.number().min(0).max(0.999999)])
          .default([0.9, 0.999]),
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
    ep: z.enum(EXECUTION_PROVIDERS).default('cpu'),
    threads: z.number().int().min(1).max(256).optional(),
  })
  .refine((s) => !(s.epochs !== undefined && s.steps !== undefined), {
    message: 'give epochs or steps, not both',
    path: ['steps'],
  })
  .meta({ id: 'RunSpec' });

export type RunSpec = z.output<typeof RunSpecSchema>;
export type RunSpecInput = z.input<typeof RunSpecSchema>;
