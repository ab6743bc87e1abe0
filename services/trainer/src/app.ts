// Assembles the trainer service: configuration, bucket, the features client (MMIT_FEATURES_URL),
// the run manager, the export manager, routes, readiness (bucket reachable) and shutdown (running
// runs and exports let go of their leases; another replica, or the next start, resumes them).
import { createBucketService, jobRunnerSettings, type RunningService, type Service } from '@mmit/service-kit';
import type { Bucket, BucketConfig } from '@mmit/storage';
import { FeaturesClient } from '@mmit/train';
import { TRAINER_DEFAULT_PORT, trainerConfigSpec } from './config.js';
import { ExportManager } from './exports.js';
import { registerRoutes } from './routes.js';
import { RunManager } from './runs.js';

export const TRAINER_VERSION = '0.1.0';

export interface TrainerServiceOptions {
  env?: NodeJS.ProcessEnv;
  /** Defaults to the bucket named by MMIT_S3_* in `env`. */
  bucket?: Bucket | BucketConfig;
  /** How often a run's state.json is rewritten for progress (default 1 s). */
  stateIntervalMs?: number;
  /** How often rows go to W&B when WANDB_API_KEY is set (default 5 s). */
  wandbFlushMs?: number;
}

export interface TrainerService {
  service: Service<typeof trainerConfigSpec>;
  bucket: Bucket;
  runs: RunManager;
  exports: ExportManager;
  /** Binds, resumes unfinished runs, and returns the URL. */
  start(options?: { handleSignals?: boolean }): Promise<RunningService>;
}

export function createTrainerService(options: TrainerServiceOptions = {}): TrainerService {
  const { service, bucket, useWorker, start } = createBucketService({
    name: 'trainer',
    version: TRAINER_VERSION,
    defaultPort: TRAINER_DEFAULT_PORT,
    config: trainerConfigSpec,
    env: options.env,
    bucket: options.bucket,
  });
  const { featuresUrl, concurrency, featuresPollMs } = service.config;
  const jobs = { ...jobRunnerSettings(service.config), registry: service.metrics.registry };
  const runs = new RunManager({
    bucket,
    logger: service.logger,
    features: featuresUrl
      ? new FeaturesClient(featuresUrl, service.config.apiKey, { patienceMs: jobs.storagePatienceMs })
      : undefined,
    concurrency,
    featuresPollMs,
    stateIntervalMs: options.stateIntervalMs,
    wandb: service.config.wandbApiKey
      ? {
          apiKey: service.config.wandbApiKey,
          project: service.config.wandbProject,
          entity: service.config.wandbEntity,
          baseUrl: service.config.wandbBaseUrl,
          flushMs: options.wandbFlushMs,
        }
      : undefined,
    jobs,
  });
  const exports = new ExportManager({
    bucket,
    logger: service.logger,
    concurrency: service.config.exportConcurrency,
    ...(service.config.exportWorkDir ? { workDir: service.config.exportWorkDir } : {}),
    jobs,
  });
  registerRoutes(service, runs, exports, bucket);
  useWorker({
    start: async () => {
      await runs.start();
      await exports.start();
    },
    stop: async () => {
      await Promise.all([runs.stop(), exports.stop()]);
    },
  });
  return { service, bucket, runs, exports, start };
}
