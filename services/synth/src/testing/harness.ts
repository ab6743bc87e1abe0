// A real synthesis service on a random port over the test store (the embedded S3 server in a temp
// folder, or the endpoint MMIT_S3_* name), in this process or in a child process that a test may
// kill, and a corpus written straight into the bucket in the layout the ingest service publishes.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  type CorpusManifest,
  CorpusManifestSchema,
  emptyCorpusCounts,
  type ItemRecord,
  type JobRecord,
  keys,
  newId,
} from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { createSynthService } from '../app.js';

export type Storage = TestStore;

export function startStorage(): Promise<Storage> {
  return startTestStore({ name: 'synth-it', retry: { retries: 2, baseDelayMs: 50, maxDelayMs: 200 } });
}

export async function startSynth(storage: Storage, env: Record<string, string> = {}) {
  const synth = createSynthService({
    env: {
      MMIT_SYNTH_PORT: '0',
      MMIT_LOG_LEVEL: 'silent',
      MMIT_SYNTH_PART_ITEMS: '3',
      // A job's owner follows its units (and other replicas look for work) this often.
      MMIT_JOB_POLL_MS: '100',
      ...env,
    },
    bucket: storage.config,
  });
  const running = await synth.start();
  return { ...synth, url: running.url, close: running.close };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `probe` until it gives a value (errors count as not yet). */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface SynthProcess {
  child: ChildProcess;
  url: string;
  /** SIGKILL: no shutdown, leases left as they were. */
  kill(): Promise<void>;
}

/** `main.ts` in a child process over the test storage; resolves once it is ready. */
export async function startSynthProcess(
  storage: Storage,
  env: Record<string, string>,
): Promise<SynthProcess> {
  const port = await freePort();
  const main = fileURLToPath(new URL('../main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      ...process.env,
      ...storage.env,
      MMIT_SYNTH_PORT: String(port),
      MMIT_LOG_LEVEL: 'silent',
      ...env,
    },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await until('the child service', async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined));
  return {
    child,
    url,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface TestItem {
  captions: string[];
  modality?: 'image' | 'audio';
  status?: ItemRecord['status'];
  extra?: Record<string, unknown>;
}

/** Publishes a corpus with these items (split over parts of `perPart`), as ingest would. */
export async function writeCorpus(bucket: Bucket, items: TestItem[], perPart = 4): Promise<CorpusManifest> {
  const corpusId = newId('corpus');
  const now = new Date().toISOString();
  const parts: { part: string; items: number }[] = [];
  for (let start = 0; start < items.length; start += perPart) {
    const part = `p-${String(parts.length).padStart(4, '0')}`;
    const records: ItemRecord[] = items.slice(start, start + perPart).map((it, k) => {
      const sha = (start + k).toString(16).padStart(64, '0');
      return {
        id: newId('item'),
        corpusId,
        source: `item-${start + k}`,
        modality: it.modality ?? 'image',
        captions: it.captions,
        status: it.status ?? 'accepted',
        media: { sha256: sha, key: keys.media(sha, it.modality === 'audio' ? 'wav' : 'jpg'), bytes: 100 },
        extra: it.extra ?? {},
        createdAt: now,
      };
    });
    await bucket.putBuffer(
      keys.corpusItems(corpusId, part),
      records.map((r) => `${JSON.stringify(r)}\n`).join(''),
    );
    parts.push({ part, items: records.length });
  }
  const manifest: CorpusManifest = {
    id: corpusId,
    name: 'test corpus',
    description: '',
    createdAt: now,
    updatedAt: now,
    options: { maxSide: 1024, keepOriginals: true, nearDuplicateThreshold: 6, thumbnailSide: 256 },
    counts: { ...emptyCorpusCounts(), accepted: items.length },
    parts,
    version: 1,
  };
  await bucket.putJson(keys.corpusManifest(corpusId), manifest, CorpusManifestSchema);
  return manifest;
}

export async function json<T = unknown>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`expected JSON from ${res.url} (${res.status}), got: ${text.slice(0, 300)}`);
  }
}

export function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Polls a job until it leaves queued/running. */
export async function waitForJob(url: string, jobId: string, timeoutMs = 60_000): Promise<JobRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await json<JobRecord>(await fetch(`${url}/v1/datasets/jobs/${jobId}`));
    if (job.status !== 'queued' && job.status !== 'running') return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
