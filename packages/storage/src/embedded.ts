// The embedded S3 server for one-machine use: s3rver on loopback, files under a local folder, so
// a fresh clone runs with no external services. Services still talk to it through the minio
// client like to any S3, so production only changes the endpoint URL.
//
// Seen with s3rver 3.7.1 + minio 8.0.7 on Node 20: buckets, gets, presigned GETs, server-side
// copies, multipart uploads driven part by part (Bucket.putStream) and v1 listing work. Not
// working: minio's own multipart putObject (s3rver lacks ListMultipartUploads), truncated v2
// listings (500: continuation tokens use DES, which OpenSSL 3 refuses).
// What S3 does and s3rver does not is added here:
// - SigV4 signatures are verified and unsigned requests refused (s3rver-guard.ts, sigv4.ts), with
//   keys generated once per data folder and kept beside it (mode 0600), so only processes that were
//   handed the keys (the launcher passes them to the services) can read or write the bucket;
// - conditional writes (If-None-Match: *, If-Match) are enforced atomically (s3rver-guard.ts);
// - writes are atomic for readers (s3rver-atomic.ts): unpatched, a GET right after a PUT can read
//   a truncated object, and a GET racing an overwrite can answer 500.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import S3rver from 's3rver';
import { z } from 'zod';
import type { S3Config } from './config.js';
import { DEFAULT_RETRY } from './retry.js';
import { makeWritesAtomic } from './s3rver-atomic.js';
import { s3Guard } from './s3rver-guard.js';

export interface S3Credentials {
  accessKey: string;
  secretKey: string;
}

const CredentialsSchema = z.object({
  accessKey: z.string().regex(/^[A-Z0-9]{16,128}$/),
  secretKey: z.string().min(32),
});

/** Where a data folder's keys live: beside it, so they are never listed as a bucket. */
export function embeddedCredentialsPath(dir: string): string {
  const folder = resolve(dir);
  return join(dirname(folder), `.${basename(folder)}.credentials.json`);
}

/**
 * The keys of a data folder: read from beside it, or generated on first use and written there
 * readable by the owner only (mode 0600). The same folder keeps its keys across restarts, so
 * services started against it before keep working.
 */
export async function embeddedCredentials(dir: string): Promise<S3Credentials> {
  const path = embeddedCredentialsPath(dir);
  try {
    const stored = CredentialsSchema.parse(JSON.parse(await readFile(path, 'utf8')));
    await chmod(path, 0o600);
    return stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(
        `${path} is not a valid credentials file (${(err as Error).message}); delete it to generate new keys`,
      );
    }
  }
  const credentials: S3Credentials = {
    accessKey: `MMIT${randomBytes(10).toString('hex').toUpperCase()}`,
    secretKey: randomBytes(30).toString('base64url'),
  };
  await mkdir(dirname(path), { recursive: true });
  // `wx`: two launchers starting at once on a fresh folder must not both write keys.
  try {
    await writeFile(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    return credentials;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return embeddedCredentials(dir);
    throw err;
  }
}

// s3rver's own authentication step looks every access key up in its account registry (it never
// checks the V4 signature itself): the guard does the checking, the registry only has to know the key.
const require = createRequire(import.meta.url);
const s3rverAccounts: { DUMMY_ACCOUNT: { createKeyPair(accessKey: string, secretKey: string): void } } =
  require('s3rver/lib/models/account');

export interface EmbeddedS3Options {
  /** Folder for the stored objects (default `./data/s3`, created if missing). */
  dir?: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Buckets created at start, before any client connects. */
  buckets?: string[];
  /** Keys to accept (default: the data folder's own, see embeddedCredentials). */
  credentials?: S3Credentials;
}

export interface EmbeddedS3 {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  port: number;
  dir: string;
  /** Closes the listener and any kept-alive client connections. */
  stop(): Promise<void>;
}

export async function startEmbeddedS3(options: EmbeddedS3Options = {}): Promise<EmbeddedS3> {
  const dir = resolve(options.dir ?? './data/s3');
  const host = options.host ?? '127.0.0.1';
  await mkdir(dir, { recursive: true });
  const server = new S3rver({
    address: host,
    port: options.port ?? 0,
    directory: dir,
    silent: true,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  // Staging files live beside the data folder, not in it, so they never show up in listings.
  const stagingDir = join(dirname(dir), `.${basename(dir)}.staging`);
  makeWritesAtomic(server.store, stagingDir);
  const credentials = options.credentials ?? (await embeddedCredentials(dir));
  s3rverAccounts.DUMMY_ACCOUNT.createKeyPair(credentials.accessKey, credentials.secretKey);
  // The guard runs just before s3rver's router (the last middleware), after its logging and XML
  // error rendering, so refusals are logged and answered as S3 XML errors.
  const guard = s3Guard({
    store: server.store,
    secretOf: (key) => (key === credentials.accessKey ? credentials.secretKey : undefined),
  });
  server.middleware.splice(server.middleware.length - 1, 0, guard);
  const address = await server.run();
  let stopped = false;
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    accessKey: credentials.accessKey,
    secretKey: credentials.secretKey,
    port: address.port,
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Clients keep connections alive; without this, close() waits for them to time out.
      const closing = server.close();
      server.httpServer?.closeAllConnections();
      await closing;
      // Writes accepted before the close may still be landing in the staging folder; retry the
      // removal, and leave stragglers (they sit outside the data folder and are never read).
      await rm(stagingDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }).catch(() => {});
    },
  };
}

/** The S3Config for a bucket on an embedded server. */
export function embeddedS3Config(s3: EmbeddedS3, bucket = 'mmit'): S3Config {
  return {
    endpoint: s3.endpoint,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    bucket,
    region: 'us-east-1',
    retry: DEFAULT_RETRY,
  };
}
