// Assembles the ingest service: configuration, bucket, corpus store, job store and import jobs,
// routes, readiness (bucket reachable) and shutdown (jobs settle, job records written out).

import { configureImagePipeline } from '@mmit/media';
import { createService, type RunningService, type Service } from '@mmit/service-kit';
import { Bucket, type BucketConfig } from '@mmit/storage';
import { INGEST_DEFAULT_PORT, ingestConfigSpec } from './config.js';
import { CorpusStore } from './corpus/store.js';
import { importJobs } from './jobs/import-jobs.js';
import { JobStore } from './jobs/job-store.js';
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
  /** Binds, resumes unfinished imports, and returns the URL. */
  start(options?: { handleSignals?: boolean }): Promise<RunningService>;
}

export function createIngestService(options: IngestServiceOptions = {}): IngestService {
  const env = options.env ?? process.env;
  const service = createService({
    name: 'ingest',
    version: INGEST_VERSION,
    defaultPort: INGEST_DEFAULT_PORT,
    config: ingestConfigSpec,
    env,
  });
  const bucket =
    options.bucket instanceof Bucket
      ? options.bucket
      : options.bucket
        ? new Bucket(options.bucket)
        : Bucket.fromEnv(env);
  const store = new CorpusStore(bucket);
  const jobs = new JobStore(bucket);
  const settings = { bucket, keepOriginals: service.config.keepOriginals };
  const imports = importJobs(
    { ...settings, store, importRoots: service.config.importRoots, concurrency: service.config.concurrency },
    jobs,
    (msg) => service.logger.info(msg),
    service.shutdownSignal,
  );
  registerRoutes(service, { bucket, store, jobs, imports, settings });
  service.addReadinessCheck('bucket', () => bucket.ping());
  service.onShutdown(async () => {
    await imports.idle();
    await jobs.close();
  });
  configureImagePipeline();

  return {
    service,
    bucket,
    async start(startOptions = {}) {
      await bucket.ensure();
      const running = await service.listen(startOptions);
      const resumed = await imports.resumePending();
      if (resumed > 0) service.logger.info({ resumed }, 'resumed unfinished imports');
      return running;
    },
  };
}
