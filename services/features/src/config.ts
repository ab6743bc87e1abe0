// The feature service's own environment variables (on top of service-kit's shared ones and the
// MMIT_S3_* storage variables); validated at start-up, rendered into docs/features.md.
import { envVar, jobsConfigSpec } from '@mmit/service-kit';
import { z } from 'zod';

export const FEATURES_DEFAULT_PORT = 7073;

export const featuresConfigSpec = {
  ...jobsConfigSpec,
  ep: envVar(
    'MMIT_FEATURES_EP',
    z.enum(['cpu', 'webgpu', 'cuda']).default('cpu'),
    'Execution provider for encoders when a job does not name one; an unavailable GPU provider falls back to cpu (the reason lands in the job).',
  ),
  batchSize: envVar(
    'MMIT_FEATURES_BATCH_SIZE',
    z.coerce.number().int().min(1).max(1024).default(16),
    'Items per encoder batch; each batch is written as one shard, so a crash repeats at most one batch.',
  ),
  threads: envVar(
    'MMIT_FEATURES_THREADS',
    z.coerce.number().int().min(0).max(256).default(0),
    'onnxruntime intra-op threads on cpu (0: all cores).',
  ),
  modelRoots: envVar(
    'MMIT_FEATURES_MODEL_ROOTS',
    z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(':')
          .map((p) => p.trim())
          .filter(Boolean),
      ),
    'Colon-separated folders that checkpoint paths in job requests must lie in (empty: any folder; Hugging Face ids are always allowed).',
  ),
  concurrency: envVar(
    'MMIT_FEATURES_CONCURRENCY',
    z.coerce.number().int().min(1).max(8).default(1),
    'Feature jobs run at once by this process (each uses all its threads).',
  ),
};
