// The embedded S3 server for one-machine use: s3rver on loopback, files under a local folder, so
// a fresh clone runs with no external services. Services still talk to it through the minio
// client like to any S3, so production only changes the endpoint URL.
//
// Seen with s3rver 3.7.1 + minio 8.0.7 on Node 20: buckets, gets, presigned GETs, server-side
// copies, multipart uploads driven part by part (Bucket.putStream) and v1 listing work. Not
// working: minio's own multipart putObject (s3rver lacks ListMultipartUploads), truncated v2
// listings (500: continuation tokens use DES, which OpenSSL 3 refuses). Conditional puts
// (If-None-Match) are accepted but not enforced, so nothing here relies on them. s3rver does not check SigV4
// signatures at all (any credentials work), which is one more reason it only listens on loopback.
// Its writes are made atomic here (s3rver-atomic.ts): unpatched, a GET right after a PUT can
// read a truncated object, and a GET racing an overwrite can answer 500.
import { mkdir, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import S3rver from 's3rver';
import type { S3Config } from './config.js';
import { DEFAULT_RETRY } from './retry.js';
import { makeWritesAtomic } from './s3rver-atomic.js';

/** s3rver checks signatures against these fixed credentials. */
export const EMBEDDED_S3_ACCESS_KEY = 'S3RVER';
export const EMBEDDED_S3_SECRET_KEY = 'S3RVER';

export interface EmbeddedS3Options {
  /** Folder for the stored objects (default `./data/s3`, created if missing). */
  dir?: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Buckets created at start, before any client connects. */
  buckets?: string[];
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
  const address = await server.run();
  let stopped = false;
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    accessKey: EMBEDDED_S3_ACCESS_KEY,
    secretKey: EMBEDDED_S3_SECRET_KEY,
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
