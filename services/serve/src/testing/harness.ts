// A real serve service on a random port over a real embedded S3 server in a temp folder, for
// integration tests and benches.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bucket, embeddedS3Config, startEmbeddedS3 } from '@mmit/storage';
import { createServeService, type ServeService } from '../app.js';

export interface ServeHarness {
  url: string;
  bucket: Bucket;
  serve: ServeService;
  /** Starts another serve service on the same bucket with more env (closed with the harness). */
  another(env: Record<string, string>): Promise<{ url: string; serve: ServeService }>;
  close(): Promise<void>;
}

export async function startServeHarness(env: Record<string, string> = {}): Promise<ServeHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'mmit-serve-it-'));
  const s3 = await startEmbeddedS3({ dir: join(dir, 's3'), port: 0, buckets: ['mmit'] });
  const config = { ...embeddedS3Config(s3), retry: { retries: 2, baseDelayMs: 50, maxDelayMs: 200 } };
  const bucket = new Bucket(config);
  const closers: (() => Promise<void>)[] = [];
  const start = async (extra: Record<string, string>) => {
    const serve = createServeService({
      env: { MMIT_SERVE_PORT: '0', MMIT_LOG_LEVEL: 'silent', ...env, ...extra },
      bucket: config,
    });
    const running = await serve.start();
    closers.push(running.close);
    return { url: running.url, serve };
  };
  const first = await start({});
  return {
    url: first.url,
    bucket,
    serve: first.serve,
    another: start,
    async close() {
      for (const close of closers.reverse()) await close();
      await s3.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
