// A real serve service on a random port over the test store (the embedded S3 server in a temp
// folder, or the endpoint MMIT_S3_* name), for integration tests and benches.
import type { Bucket } from '@mmit/storage';
import { startTestStore } from '@mmit/storage/testing';
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
  const store = await startTestStore({
    name: 'serve-it',
    retry: { retries: 2, baseDelayMs: 50, maxDelayMs: 200 },
  });
  const { config, bucket } = store;
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
      await store.stop();
    },
  };
}
