// Assembles the ingest service: configuration, bucket, corpus store, the job runner with the
// import job, routes (corpora, uploads, imports, and the runner's job routes under /v1/jobs),
// readiness (bucket reachable) and shutdown (running imports checkpoint and let go of their
// leases, so another replica or the next start carries on).

import { configureImagePipeline } from '@mmit/media';
import {
  createBucketService,
  JobRunner,
  jobRunnerSettings,
  type RunningService,
  type Service,
} from '@mmit/service-kit';
import type { Bucket, BucketConfig } from '@mmit/storage';
import { INGEST_DEFAULT_PORT, ingestConfigSpec } from './config.js';
import { CorpusStore } from './corpus/store.js';
import { IMPORT_JOB, importJob } from './jobs/import-job.js';
import { registerRoutes } from './routes.js';

export const INGEST_VERSION = '0.1.0';

export interface IngestServiceOptions {
  env?: NodeJS.ProcessEnv;
  /** Defaults to the bucket named by MMIT_S3_* in `env`. */
  bucket?: Bucket | BucketConfig;
}

export interface IngestService {
  service: Service<typeof ingestConfigSpec>;
  bucket: Bucket;
  runner: JobRunner;
  /** Binds, resumes unfinished imports, and returns the URL. */
  start(options?: { handleSignals?: boolean }): Promise<RunningService>;
}

export function createIngestService(options: IngestServiceOptions = {}): IngestService {
  const { service, bucket, useWorker, start } = createBucketService({
    name: 'ingest',
    version: INGEST_VERSION,
    defaultPort: INGEST_DEFAULT_PORT,
    config: ingestConfigSpec,
    env: options.env,
    bucket: options.bucket,
  });
  const config = service.config;
  const store = new CorpusStore(bucket);
  const settings = {
    bucket,
    keepOriginals: config.keepOriginals,
    limits: {
      maxCaptionChars: config.maxCaptionChars,
      maxCaptionsPerItem: config.maxCaptionsPerItem,
      maxMetaDepth: config.jsonMaxDepth,
    },
  };
  const importContext = {
    ...settings,
    store,
    importRoots: config.importRoots,
    concurrency: config.concurrency,
  };
  const runner = new JobRunner({
    bucket,
    service: 'ingest',
    logger: service.logger,
    concurrency: config.jobConcurrency,
    registry: service.metrics.registry,
    ...jobRunnerSettings(service.config),
  });
  runner.defineSplit(IMPORT_JOB, importJob(importContext, config.unitEntries));

  registerRoutes(service, { bucket, store, runner, importContext, settings });
  useWorker(runner);
  configureImagePipeline();
  return { service, bucket, runner, start };
}
