// Load tests against one completion request, loopback only, for bench/serve (autocannon and
// openai are this package's dev dependencies, so they are imported from here). loadTest is the
// raw hammer: autocannon's connections send the next request the moment an answer (429 or not)
// arrives. sdkLoadTest is the load of applications using the official openai client, which
// waits what Retry-After says on a 429 and retries a bounded number of times.
import { Worker } from 'node:worker_threads';
import autocannon from 'autocannon';

export interface LoadResult {
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  timeouts: number;
  /** HTTP status -> count. */
  codes: Record<string, number>;
}

export async function loadTest(
  url: string,
  body: unknown,
  seconds: number,
  connections: number,
  /** Run the client in a worker thread, off the event loop of an in-process server. */
  options: { worker?: boolean } = {},
): Promise<LoadResult> {
  if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(url))
    throw new Error(`load tests run on loopback only, not ${url}`);
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    connections,
    duration: seconds,
    timeout: 60,
    ...(options.worker ? { workers: 1 } : {}),
  });
  const codes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, (s as { count: number }).count]),
  );
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    codes,
  };
}

export interface SdkLoadInput {
  baseURL: string;
  body: Record<string, unknown>;
  seconds: number;
  users: number;
  maxRetries: number;
}

export interface SdkLoadOutput {
  /** Completions answered within the run. */
  answered: number;
  /** Requests the client gave up on with a 429 after its retries. */
  refused: number;
  /** Other failures (connection errors, other statuses). */
  failed: number;
  /** HTTP status (or ERR) of every attempt, retries included -> count. */
  attempts: Record<string, number>;
}

/**
 * `users` loops of chat completions through the openai client (maxRetries as the SDK's default,
 * 2), in a worker thread so that the client's work is not done on an in-process server's loop.
 */
export async function sdkLoadTest(
  baseURL: string,
  body: Record<string, unknown>,
  seconds: number,
  users: number,
  maxRetries = 2,
): Promise<SdkLoadOutput> {
  if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(baseURL))
    throw new Error(`load tests run on loopback only, not ${baseURL}`);
  const input: SdkLoadInput = { baseURL, body, seconds, users, maxRetries };
  const worker = new Worker(new URL('./sdk-load-worker.mjs', import.meta.url), { workerData: input });
  try {
    return await new Promise<SdkLoadOutput>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the load worker exited (${code}) before reporting`)));
    });
  } finally {
    await worker.terminate();
  }
}

/** A PNG of seeded noise (it compresses badly, so decoding it costs what a real photo does). */
export async function noisePng(side: number, seed = 1): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const pixels = Buffer.alloc(side * side * 3);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < pixels.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    pixels[i] = state & 255;
  }
  return sharp(pixels, { raw: { width: side, height: side, channels: 3 } })
    .png()
    .toBuffer();
}

/** A PNG of one flat colour: tiny in bytes, but decoding it costs what its pixel count says. */
export async function flatPng(side: number): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp({ create: { width: side, height: side, channels: 3, background: { r: 90, g: 140, b: 200 } } })
    .png()
    .toBuffer();
}
