// A real ingest service on a random port over a real embedded S3 server (s3rver) in a temp
// folder, for integration tests. `stopS3`/`startS3` let a test take storage away mid-import.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bucket, type EmbeddedS3, embeddedS3Config, startEmbeddedS3 } from '@mmit/storage';
import sharp from 'sharp';
import { createIngestService } from '../app.js';

export interface Harness {
  url: string;
  bucket: Bucket;
  importRoot: string;
  stopS3(): Promise<void>;
  /** Starts the S3 server again on the same port and folder (after stopS3). */
  startS3(): Promise<void>;
  /** Stops the ingest service (as Ctrl-C would) and starts a new one on the same bucket. */
  restartService(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'mmit-ingest-it-'));
  const importRoot = join(dir, 'imports');
  let s3: EmbeddedS3 | undefined = await startEmbeddedS3({ dir: join(dir, 's3'), port: 0 });
  // Few, quick retries: a test that stops the server should see the failure in seconds.
  const config = {
    ...embeddedS3Config(s3),
    retry: { retries: 2, baseDelayMs: 50, maxDelayMs: 200 },
    port: s3.port,
  };
  const bucket = new Bucket(config);
  const startService = async (port: string) =>
    createIngestService({
      env: { MMIT_INGEST_PORT: port, MMIT_LOG_LEVEL: 'silent', MMIT_INGEST_IMPORT_ROOTS: importRoot, ...env },
      bucket: config,
    }).start();
  let running = await startService('0');
  return {
    url: running.url,
    bucket,
    importRoot,
    async stopS3() {
      await s3?.stop();
      s3 = undefined;
    },
    async startS3() {
      s3 = await startEmbeddedS3({ dir: join(dir, 's3'), port: config.port });
    },
    async restartService() {
      await running.close();
      running = await startService(String(running.port));
    },
    async close() {
      await running.close();
      await s3?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A JPEG of the given size with a colour gradient (varied enough for distinct perceptual hashes). */
export async function jpeg(width: number, height: number, seed = 0, quality = 85): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="${seed % 2}" y2="1">
      <stop offset="0" stop-color="hsl(${(seed * 47) % 360},80%,50%)"/>
      <stop offset="1" stop-color="hsl(${(seed * 47 + 160) % 360},70%,40%)"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/>
    <circle cx="${(seed * 37) % width}" cy="${(seed * 53) % height}" r="${Math.min(width, height) / 4}" fill="white"/>
  </svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality }).toBuffer();
}

export async function png(width: number, height: number, seed = 0): Promise<Buffer> {
  return sharp(await jpeg(width, height, seed))
    .png()
    .toBuffer();
}

export async function json<T = unknown>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`expected JSON from ${res.url} (${res.status}), got: ${text.slice(0, 300)}`);
  }
}

/** Polls a job until it leaves queued/running. */
export async function waitForJob(
  url: string,
  jobId: string,
  timeoutMs = 60_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await json<Record<string, unknown>>(await fetch(`${url}/v1/jobs/${jobId}`));
    if (job.status !== 'queued' && job.status !== 'running') return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
