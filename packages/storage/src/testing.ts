// The store an integration test runs against, started in its `before` hook and stopped in its
// `after` hook: the real embedded S3 server on a free port with its files in a fresh folder, or,
// when MMIT_S3_ENDPOINT is set, that endpoint (any S3: MinIO, AWS, R2, ...) with
// MMIT_S3_ACCESS_KEY / MMIT_S3_SECRET_KEY / MMIT_S3_REGION, so the same tests check a real server:
//
//   MMIT_S3_ENDPOINT=http://127.0.0.1:9000 MMIT_S3_ACCESS_KEY=... MMIT_S3_SECRET_KEY=... \
//   node scripts/test.mjs packages/storage
//
// On a real endpoint every store is a bucket of its own, created for it and emptied and removed by
// stop(): tests write fixed keys and assert exact listings, which a bucket shared between test files
// or runs would break. Its name starts with MMIT_S3_TEST_BUCKET (default `mmit-test`), never the
// services' MMIT_S3_BUCKET, and the keys must be allowed to create and delete buckets.
//
// It is a start/stop pair rather than a function that registers the hooks itself: node:test runs
// `after` hooks in the order they were registered, so a store registered first would be stopped
// before the test's own teardown (services releasing their leases) could still reach it.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bucket, createS3Client } from './bucket.js';
import { type S3Config, s3ConfigFromEnv } from './config.js';
import { type EmbeddedS3, embeddedS3Config, startEmbeddedS3 } from './embedded.js';
import type { RetryPolicy } from './retry.js';

export interface TestStoreOptions {
  /** Names the scratch folder and, on a real endpoint, the bucket (lower-case letters, digits, `-`). */
  name: string;
  /** The bucket on the embedded server (default `mmit`, the services' own default). */
  bucket?: string;
  /** Retries of the store's Bucket (default: the services' own policy). */
  retry?: RetryPolicy;
  /** Where MMIT_S3_* are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface TestStore {
  readonly config: S3Config;
  /** A client of the store's bucket, which exists by the time startTestStore resolves. */
  readonly bucket: Bucket;
  /** A scratch folder for the test's own files, removed by stop(); the embedded server's files are in `<dir>/s3`. */
  readonly dir: string;
  /** The embedded server; undefined when the test runs against MMIT_S3_ENDPOINT. */
  readonly embedded: EmbeddedS3 | undefined;
  /** The MMIT_S3_* variables that name this bucket, for services a test starts as processes. */
  readonly env: Record<string, string>;
  /** Stops the embedded server (or empties and removes the real endpoint's bucket) and removes `dir`. */
  stop(): Promise<void>;
}

/** The bucket names on a real endpoint: `<MMIT_S3_TEST_BUCKET>-<name>-<8 hex>`, within S3's 63 characters. */
function externalBucketName(prefix: string, name: string): string {
  const suffix = randomBytes(4).toString('hex');
  const room = Math.max(0, 63 - prefix.length - suffix.length - 2);
  const middle = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, room)
    .replace(/^-+|-+$/g, '');
  return [prefix, middle, suffix].filter(Boolean).join('-');
}

export async function startTestStore(options: TestStoreOptions): Promise<TestStore> {
  const env = options.env ?? process.env;
  const dir = await mkdtemp(join(tmpdir(), `mmit-${options.name}-`));
  let embedded: EmbeddedS3 | undefined;
  let config: S3Config;
  try {
    if (env.MMIT_S3_ENDPOINT) {
      const bucket = externalBucketName(env.MMIT_S3_TEST_BUCKET || 'mmit-test', options.name);
      // s3ConfigFromEnv names any missing or malformed variable, as the services would.
      config = s3ConfigFromEnv({ ...env, MMIT_S3_BUCKET: bucket });
    } else {
      embedded = await startEmbeddedS3({ dir: join(dir, 's3'), port: 0 });
      config = embeddedS3Config(embedded, options.bucket);
    }
    if (options.retry) config = { ...config, retry: options.retry };
    const bucket = new Bucket(config);
    await bucket.ensure();
    return {
      config,
      bucket,
      dir,
      embedded,
      env: {
        MMIT_S3_ENDPOINT: config.endpoint,
        MMIT_S3_ACCESS_KEY: config.accessKey,
        MMIT_S3_SECRET_KEY: config.secretKey,
        MMIT_S3_BUCKET: config.bucket,
        MMIT_S3_REGION: config.region,
      },
      async stop() {
        if (embedded) await embedded.stop();
        else await removeBucket(bucket, config);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await embedded?.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Empties and removes a real endpoint's test bucket; one left behind is reported, not thrown. */
async function removeBucket(bucket: Bucket, config: S3Config): Promise<void> {
  try {
    await bucket.deletePrefix('');
    await createS3Client(config).removeBucket(config.bucket);
  } catch (err) {
    // A teardown failure is not the test's result; say what is left so it can be removed by hand.
    console.warn(
      `test bucket ${config.bucket} on ${config.endpoint} was not removed: ${(err as Error).message}`,
    );
  }
}
