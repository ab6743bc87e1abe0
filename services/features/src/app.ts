// Assembles the feature service: configuration, bucket (and S3 range reads when the endpoint is
// known), the job engine with the `extract` kind (split into one unit per shard, so feature
// replicas share a job), metrics, routes, readiness, and shutdown (units let go of their leases;
// another replica or the next start carries on).

import { FeatureReader, type RangeSource, s3RangeSource } from '@mmit/features';
import {
  createBucketService,
  JobRunner,
  jobRunnerSettings,
  type RunningService,
  type Service,
} from '@mmit/service-kit';
import type { Bucket, BucketConfig } from '@mmit/storage';
import { FEATURES_DEFAULT_PORT, featuresConfigSpec } from './config.js';
import { EncoderPool } from './encoders/pool.js';
import { extractJob } from './jobs/extract.js';
import { createFeatureMetrics } from './metrics.js';
import { EXTRACT_JOB, registerRoutes } from './routes.js';

export const FEATURES_VERSION = '0.1.0';

export interface FeaturesServiceOptions {
  env?: NodeJS.ProcessEnv;
  /** Defaults to the bucket named by MMIT_S3_* in `env`. A config (rather than a Bucket) also enables S3 range reads. */
  bucket?: Bucket | BucketConfig;
}

export interface FeaturesService {
  service: Service<typeof featuresConfigSpec>;
  bucket: Bucket;
  runner: JobRunner;
  /** Binds, resumes unfinished jobs, and returns the URL. */
  start(options?: { handleSignals?: boolean }): Promise<RunningService>;
}

export function createFeaturesService(options: FeaturesServiceOptions = {}): FeaturesService {
  const { service, bucket, bucketConfig, useWorker, start } = createBucketService({
    name: 'features',
    version: FEATURES_VERSION,
    defaultPort: FEATURES_DEFAULT_PORT,
    config: featuresConfigSpec,
    env: options.env,
    bucket: options.bucket,
  });
  // Given a connection (not a ready Bucket), features also read ranges of segments straight from S3.
  const ranges: RangeSource | undefined = bucketConfig ? s3RangeSource(bucketConfig) : undefined;
  const metrics = createFeatureMetrics(service.metrics.registry);
  const runner = new JobRunner({
    bucket,
    service: 'features',
    logger: service.logger,
    concurrency: service.config.concurrency,
    registry: service.metrics.registry,
    ...jobRunnerSettings(service.config),
  });
  // Encoders stay open between units of a job (a replica usually runs several units in a row).
  const encoders = new EncoderPool(service.config.modelRoots);
  runner.defineSplit(
    EXTRACT_JOB,
    extractJob({
      bucket,
      metrics,
      ep: service.config.ep,
      batchSize: service.config.batchSize,
      threads: service.config.threads,
      encoders,
    }),
  );
  const readers = new Map<string, FeatureReader>();
  const readerFor = (encoderKey: string) => {
    let reader = readers.get(encoderKey);
    if (!reader) {
      reader = new FeatureReader(bucket, encoderKey, { ranges });
      readers.set(encoderKey, reader);
    }
    return reader;
  };
  registerRoutes(service, { bucket, runner, readerFor, modelRoots: service.config.modelRoots });
  useWorker({
    start: () => runner.start(),
    async stop() {
      await runner.stop();
      await encoders.close();
    },
  });
  return { service, bucket, runner, start };
}
