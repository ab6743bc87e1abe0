// The trainer service's own environment variables (on top of service-kit's shared ones and the
// MMIT_S3_* storage variables); validated at start-up, rendered into docs/training.md.
import { envVar, jobsConfigSpec } from '@mmit/service-kit';
import { z } from 'zod';

export const TRAINER_DEFAULT_PORT = 7074;

export const trainerConfigSpec = {
  ...jobsConfigSpec,
  featuresUrl: envVar(
    'MMIT_FEATURES_URL',
    z.url().optional(),
    'Base URL of the features service, asked for features a run needs and the cache lacks (unset: such samples refuse the run unless its spec sets allowDrops).',
  ),
  concurrency: envVar(
    'MMIT_TRAINER_CONCURRENCY',
    z.coerce.number().int().min(1).max(8).default(1),
    'Runs trained at once by this process (each uses all its threads).',
  ),
  wandbApiKey: envVar(
    'WANDB_API_KEY',
    z.string().min(1).optional(),
    'When set, every run is also logged to Weights & Biases (metrics and the run spec as config); a W&B outage never fails a run.',
    { secret: true },
  ),
  wandbProject: envVar('WANDB_PROJECT', z.string().min(1).default('mmit'), 'W&B project runs are logged to.'),
  wandbEntity: envVar(
    'WANDB_ENTITY',
    z.string().min(1).optional(),
    "W&B entity (user or team); default: the API key's default entity.",
  ),
  wandbBaseUrl: envVar(
    'WANDB_BASE_URL',
    z.url().default('https://api.wandb.ai'),
    'W&B API server (a self-hosted W&B server URL).',
  ),
  featuresPollMs: envVar(
    'MMIT_TRAINER_FEATURES_POLL_MS',
    z.coerce.number().int().min(10).max(60_000).default(1_000),
    'How often a run waiting for a features job polls it.',
  ),
  exportConcurrency: envVar(
    'MMIT_TRAINER_EXPORT_CONCURRENCY',
    z.coerce.number().int().min(1).max(8).default(1),
    'Exports (POST /v1/runs/<id>/exports) written at once by this process, apart from its training runs.',
  ),
  exportWorkDir: envVar(
    'MMIT_TRAINER_EXPORT_DIR',
    z.string().min(1).optional(),
    'Local folder where an export is written before its files go into the bucket (default: the system temporary folder); needs room for the largest export.',
  ),
};
