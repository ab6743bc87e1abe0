// The skeleton every bucket-backed service shares (ingest, synth, features, trainer): the service
// with its configuration, the bucket (given, built from a config, or from MMIT_S3_* in the env)
// with a readiness check, and a worker (a job engine) that starts once the service listens and
// stops at shutdown, letting go of its leases so another replica or the next start carries on.
import { Bucket, type BucketConfig, s3ConfigFromEnv } from '@mmit/storage';
import type { ConfigSpec } from './config.js';
import { createService, type RunningService, type Service, type ServiceOptions } from './service.js';

export interface BucketServiceOptions<S extends ConfigSpec> extends ServiceOptions<S> {
  /** Defaults to the bucket named by MMIT_S3_* in `env`. */
  bucket?: Bucket | BucketConfig;
}

/** What runs behind the routes: started after the service binds, stopped when it shuts down. */
export interface ServiceWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface BucketService<S extends ConfigSpec> {
  service: Service<S>;
  bucket: Bucket;
  /** The bucket's connection settings, unless a ready Bucket was given (e.g. for S3 range reads). */
  bucketConfig?: BucketConfig;
  /** Names the worker; call once, before `start`. */
  useWorker(worker: ServiceWorker): void;
  /** Makes sure the bucket exists, binds, starts the worker, and returns the URL. */
  start(options?: { handleSignals?: boolean }): Promise<RunningService>;
}

export function createBucketService<S extends ConfigSpec>(
  options: BucketServiceOptions<S>,
): BucketService<S> {
  const service = createService(options);
  let bucket: Bucket;
  let bucketConfig: BucketConfig | undefined;
  if (options.bucket instanceof Bucket) {
    bucket = options.bucket;
  } else {
    bucketConfig = options.bucket ?? s3ConfigFromEnv(options.env ?? process.env);
    bucket = new Bucket(bucketConfig);
  }
  service.addReadinessCheck('bucket', () => bucket.ping());
  let worker: ServiceWorker | undefined;
  return {
    service,
    bucket,
    bucketConfig,
    useWorker(w) {
      if (worker) throw new Error(`service ${options.name} already has a worker`);
      worker = w;
      service.onShutdown(() => w.stop());
    },
    async start(startOptions = {}) {
      await bucket.ensure();
      const running = await service.listen(startOptions);
      await worker?.start();
      return running;
    },
  };
}
