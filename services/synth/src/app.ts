// Assembles the synthesis service: configuration, bucket, dataset store, the job runner with the
// dataset job (split into units that every replica over the bucket works on), routes (datasets +
// jobs with SSE), readiness (bucket reachable) and shutdown (the units running here are
// interrupted and let go of, so another replica or the next start carries on at once).
import {
  createBucketService,
  JobRunner,
  jobRunnerSettings,
  mountJobRoutes,
  type RunningService,
  type Service,
} from '@mmit/service-kit';
import type { Bucket, BucketConfig } from '@mmit/storage';
import { SYNTH_DEFAULT_PORT, synthConfigSpec } from './config.js';
import { DATASET_JOB, datasetJob } from './datasets/job.js';
import { DatasetStore } from './datasets/store.js';
import { registerRoutes } from './routes.js';

export const SYNTH_VERSION = '0.1.0';

/** Where the dataset jobs' routes live (list, read, SSE events, cancel). */
export const DATASET_JOBS_PATH = '/v1/datasets/jobs';

export interface SynthServiceOptions {
  env?: NodeJS.ProcessEnv;
  /** Defaults to the bucket named by MMIT_S3_* in `env`. */
  bucket?: Bucket | BucketConfig;
}

export interface SynthService {
  service: Service<typeof synthConfigSpec>;
  bucket: Bucket;
  runner: JobRunner;
  /** Binds, resumes unfinished dataset jobs, and returns the URL. */
  start(options?: { handleSignals?: boolean }): Promise<RunningService>;
}

export function createSynthService(options: SynthServiceOptions = {}): SynthService {
  const { service, bucket, useWorker, start } = createBucketService({
    name: 'synth',
    version: SYNTH_VERSION,
    defaultPort: SYNTH_DEFAULT_PORT,
    config: synthConfigSpec,
    env: options.env,
    bucket: options.bucket,
  });
  const store = new DatasetStore(bucket);
  const config = service.config;
  const llm = config.llmBaseUrl
    ? { baseUrl: config.llmBaseUrl, model: config.llmModel, apiKey: config.llmApiKey }
    : undefined;
  const runner = new JobRunner({
    bucket,
    service: 'synth',
    logger: service.logger,
    concurrency: config.jobConcurrency,
    registry: service.metrics.registry,
    ...jobRunnerSettings(service.config),
  });
  runner.defineSplit(DATASET_JOB, datasetJob({ bucket, store, partItems: config.partItems, llm }));

  // Jobs live under /v1/datasets so a gateway can route every synthesis path by one prefix; they
  // are mounted first so `/v1/datasets/jobs` is not taken for a dataset id.
  mountJobRoutes(service, runner, { basePath: DATASET_JOBS_PATH });
  registerRoutes(service, { bucket, store, runner, llmConfigured: llm !== undefined });
  useWorker(runner);
  return { service, bucket, runner, start };
}
