// A small pipeline through the gateway, for the fault tests (chaos.test.ts, faults.test.ts): a
// folder of generated pictures with caption sidecars (the learning proof's task, pictures only),
// imported into a corpus, a template dataset (no LLM), features from the tiny CLIP fixture, and a
// short training run on them with a fixed seed; then a digest of what each stage stored, with the
// ids the services drew (corpus, items, dataset) taken out, so two runs over the same folder
// compare equal exactly when they made the same things.
// Every call tolerates a replica dying under it: requests are retried on a refused or cut
// connection and on 502/503/504, and jobs are followed by polling (an event stream ends with the
// replica that serves it).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onlyKinds, planTask, writeTaskFolder } from '../../examples/shapes/src/index.js';
import { launch } from '../../infra/launch.js';
import { ApiClient, ApiError } from '../../packages/cli/src/http-client.js';
import {
  type DatasetManifest,
  type ItemRecord,
  type JobRecord,
  keys,
  type RunState,
  type Sample,
  TERMINAL_JOB_STATUSES,
  TERMINAL_RUN_STATUSES,
} from '../../packages/contracts/src/index.js';
import { Bucket, mapLimit, type S3Config } from '../../packages/storage/src/index.js';
import { fixture } from '../paths.js';

export interface PipelineSettings {
  /** Pictures in the corpus. */
  images: number;
  /** Seed of the pictures, the dataset recipe and the training run. */
  seed: number;
  steps: number;
  checkpointEvery: number;
}

/** 200 tiny pictures, 40 tiny steps: seconds per stage on 2 cores. */
export const SMALL_PIPELINE: PipelineSettings = { images: 200, seed: 7, steps: 40, checkpointEvery: 8 };

/**
 * Environment for the services of a fault test: short leases and polls (a dead replica's work is
 * taken over in seconds), and small units so that every job is split into several (imports by 40
 * entries, datasets by 50 items, features by shards of 25).
 */
export const FAULT_TEST_ENV: Record<string, string> = {
  MMIT_JOB_LEASE_SEC: '5',
  MMIT_JOB_POLL_MS: '2000',
  MMIT_INGEST_UNIT_ENTRIES: '40',
  MMIT_SYNTH_PART_ITEMS: '50',
  MMIT_FEATURES_BATCH_SIZE: '25',
  MMIT_FEATURES_THREADS: '1',
  MMIT_TRAINER_FEATURES_POLL_MS: '200',
  MMIT_LOG_LEVEL: 'warn',
};

/** Writes the pictures and their `.txt` caption sidecars; returns the folder to import. */
export async function writePipelineCorpus(dir: string, settings: PipelineSettings): Promise<string> {
  const plan = onlyKinds(planTask({ seed: settings.seed, train: settings.images, test: 1 }), ['image']);
  const written = await writeTaskFolder(dir, plan);
  return written.folders.train;
}

export interface JobSummary {
  service: string;
  id: string;
  kind: string;
  status: string;
  attempt: number;
  /** Items counted done, of the total (a redone unit must not count its items twice). */
  done: number;
  total: number | null;
}

/** What a run made, with the ids its services drew replaced by what they stand for. */
export interface PipelineDigest {
  corpus: { items: number; counts: unknown; entriesSha256: string };
  dataset: { samples: number; bytes: number; sha256: string };
  features: { encoderKey: string; media: number; bytes: number; sha256: string };
  training: { step: number; weightsSha256: string; optimizerSha256: string };
}

export interface PipelineResult {
  digest: PipelineDigest;
  /** The dataset's samples as digested (ids replaced), one JSON line each: for telling what differs. */
  samples: string[];
  ids: { corpus: string; dataset: string; run: string; jobs: string[] };
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A replica went away under the request (refused or cut connection, the gateway's 502/503/504). */
function transient(err: unknown): boolean {
  return (
    err instanceof ApiError &&
    (err.status === 0 || err.status === 502 || err.status === 503 || err.status === 504)
  );
}

/** The gateway's client, retrying what a dying replica interrupts for up to `patienceMs`. */
export class PatientClient {
  private readonly client: ApiClient;
  constructor(
    gatewayUrl: string,
    private readonly patienceMs = 60_000,
  ) {
    this.client = new ApiClient({ url: gatewayUrl });
  }

  private async retry<T>(what: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.patienceMs;
    for (;;) {
      try {
        return await what();
      } catch (err) {
        if (!transient(err) || Date.now() > deadline) throw err;
        await sleep(250);
      }
    }
  }

  get<T>(path: string): Promise<T> {
    return this.retry(() => this.client.json<T>(path));
  }

  getBuffer(path: string): Promise<Buffer> {
    return this.retry(async () => Buffer.from(await (await this.client.request(path)).arrayBuffer()));
  }

  /**
   * A POST retried like a GET: a replica killed after accepting a submission but before answering
   * makes the retry submit it again, which every submission here tolerates (imports are idempotent
   * per corpus; a second dataset, features job or run would also have to succeed, and the fault
   * tests check every job in the bucket).
   */
  post<T>(path: string, body: unknown): Promise<T> {
    return this.retry(() => this.client.postJson<T>(path, body));
  }

  /** Polls a job record until it has ended. */
  async job(path: string, timeoutMs: number): Promise<JobRecord> {
    return this.until(path, timeoutMs, (job: JobRecord) => TERMINAL_JOB_STATUSES.includes(job.status));
  }

  /** Polls a run until it has ended. */
  async run(id: string, timeoutMs: number): Promise<RunState> {
    return this.until(`/v1/runs/${id}`, timeoutMs, (run: RunState) =>
      TERMINAL_RUN_STATUSES.includes(run.status),
    );
  }

  private async until<T extends { status: string }>(
    path: string,
    timeoutMs: number,
    ended: (r: T) => boolean,
  ) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = await this.get<T>(path);
      if (ended(record)) return record;
      if (Date.now() > deadline)
        throw new Error(
          `${path} still ${record.status} after ${timeoutMs / 1000} s: ${JSON.stringify(record)}`,
        );
      await sleep(250);
    }
  }
}

/** Every page of a cursor-paged list. */
async function allPages<T>(client: PatientClient, path: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await client.get<{ items: T[]; nextCursor?: string | null }>(
      `${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

function succeededOrThrow(label: string, job: { id: string; status: string; error?: { detail?: string } }) {
  if (job.status !== 'succeeded')
    throw new Error(`${label} ${job.id} ${job.status}: ${job.error?.detail ?? ''}`);
}

export type PipelineStage = 'import' | 'dataset' | 'features' | 'train';

export interface PipelineRun {
  client: PatientClient;
  s3: S3Config;
  folder: string;
  settings: PipelineSettings;
  /** Called once each stage's job is submitted, with the path of its record (fault tests watch it). */
  onStage?: (stage: PipelineStage, recordPath: string) => void;
  /** Per job (default 150 s). */
  jobTimeoutMs?: number;
}

/** Runs import, dataset, features and training through the gateway, then digests what they stored. */
export async function runPipeline(run: PipelineRun): Promise<PipelineResult> {
  const { client, settings } = run;
  const timeout = run.jobTimeoutMs ?? 150_000;
  const jobs: string[] = [];
  const encoder = { checkpoint: fixture('tiny-clip-vision') };

  // Every object an item adds is requests to the one embedded S3 server, which the publish step
  // makes one after another: no originals, no thumbnails and a one-band near-duplicate index keep
  // the import to a few objects per item (what is under test is the jobs, not those features).
  const corpus = await client.post<{ id: string }>('/v1/corpora', {
    name: `faults-${settings.seed}`,
    options: { keepOriginals: false, thumbnailSide: 0, nearDuplicateThreshold: 0 },
  });
  const imported = await client.post<JobRecord>(`/v1/corpora/${corpus.id}/imports`, {
    format: 'folder',
    source: { type: 'path', path: run.folder },
  });
  jobs.push(imported.id);
  run.onStage?.('import', `/v1/jobs/${imported.id}`);
  succeededOrThrow('import', await client.job(`/v1/jobs/${imported.id}`, timeout));

  const { dataset, job: synthJob } = await client.post<{ dataset: DatasetManifest; job: JobRecord }>(
    '/v1/datasets',
    {
      corpusId: corpus.id,
      name: `faults-${settings.seed}`,
      recipe: { kinds: { brief: { perItem: 1 }, vqa: { perItem: 2 } }, seed: settings.seed },
    },
  );
  jobs.push(synthJob.id);
  run.onStage?.('dataset', `/v1/datasets/jobs/${synthJob.id}`);
  succeededOrThrow('dataset', await client.job(`/v1/datasets/jobs/${synthJob.id}`, timeout));

  const extract = await client.post<JobRecord>('/v1/features/jobs', { datasetId: dataset.id, encoder });
  jobs.push(extract.id);
  run.onStage?.('features', `/v1/features/jobs/${extract.id}`);
  const extracted = await client.job(`/v1/features/jobs/${extract.id}`, timeout);
  succeededOrThrow('features', extracted);
  const encoderKey = (extracted.result as { encoderKey: string }).encoderKey;

  const created = await client.post<RunState>('/v1/runs', {
    name: `faults-${settings.seed}`,
    datasetId: dataset.id,
    // The spec, not the key: the trainer asks the features service (through the gateway), which
    // finds everything cached, so that path is under the faults too.
    encoder: { spec: encoder },
    lm: { checkpoint: fixture('tiny-llama') },
    optimizer: { lr: 1e-2 },
    batchSize: 8,
    steps: settings.steps,
    checkpointEvery: settings.checkpointEvery,
    seed: settings.seed,
    threads: 1,
  });
  run.onStage?.('train', `/v1/runs/${created.id}`);
  const trained = await client.run(created.id, timeout);
  succeededOrThrow('training run', trained);
  if (trained.jobId) jobs.push(trained.jobId);

  const { digest, samples } = await digestOf(run, {
    corpus: corpus.id,
    dataset: dataset.id,
    encoderKey,
    run: trained,
  });
  return { digest, samples, ids: { corpus: corpus.id, dataset: dataset.id, run: created.id, jobs } };
}

async function digestOf(
  run: PipelineRun,
  made: { corpus: string; dataset: string; encoderKey: string; run: RunState },
): Promise<{ digest: PipelineDigest; samples: string[] }> {
  const { client } = run;
  const bucket = new Bucket(run.s3);

  // Items in source order, without their ids and times (the ids are derived from the corpus id).
  const items = await allPages<ItemRecord>(client, `/v1/corpora/${made.corpus}/items`);
  const manifest = await client.get<{ counts: unknown }>(`/v1/corpora/${made.corpus}`);
  const itemName = new Map(items.map((i) => [i.id, i.source]));
  const entries = items
    .map((i) =>
      JSON.stringify([
        i.source,
        i.status,
        i.media?.sha256 ?? null,
        i.captions,
        itemName.get(i.image?.nearDuplicateOf?.itemId ?? '') ?? null,
      ]),
    )
    .sort();

  // Samples in the order the trainer reads them, each id replaced by what it names.
  const samples = await allPages<Sample>(client, `/v1/datasets/${made.dataset}/samples`);
  const text = samples
    .map((s) => JSON.stringify(s))
    .join('\n')
    .replace(/\bi_[0-9A-Z]{22}\b/g, (id) => `item:${itemName.get(id) ?? id}`)
    .replaceAll(made.corpus, 'corpus')
    .replaceAll(made.dataset, 'dataset');

  // Each picture's stored features, as the features service serves them (checksum verified).
  const media = [...new Set(items.flatMap((i) => (i.media ? [i.media.sha256] : [])))].sort();
  const features = createHash('sha256');
  let featureBytes = 0;
  const blocks = await mapLimit(media, 8, (sha) =>
    client.getBuffer(`/v1/features/${made.encoderKey}/${sha}`),
  );
  for (const [i, sha] of media.entries()) {
    features.update(`${sha}:${sha256(blocks[i])}\n`);
    featureBytes += blocks[i].length;
  }

  const checkpoint = made.run.lastCheckpoint?.prefix ?? keys.runCheckpoint(made.run.id, made.run.step);
  const digest: PipelineDigest = {
    corpus: { items: items.length, counts: manifest.counts, entriesSha256: sha256(entries.join('\n')) },
    dataset: { samples: samples.length, bytes: Buffer.byteLength(text), sha256: sha256(text) },
    features: {
      encoderKey: made.encoderKey,
      media: media.length,
      bytes: featureBytes,
      sha256: features.digest('hex'),
    },
    training: {
      step: made.run.step,
      weightsSha256: sha256(await bucket.getBuffer(join(checkpoint, 'weights.safetensors'))),
      optimizerSha256: sha256(await bucket.getBuffer(join(checkpoint, 'optimizer.safetensors'))),
    },
  };
  return { digest, samples: text.split('\n') };
}

/** Every job record the services stored, and what is still marked open. */
export async function storedJobs(s3: S3Config): Promise<{ jobs: JobSummary[]; open: string[] }> {
  const bucket = new Bucket(s3);
  const jobs: JobSummary[] = [];
  for await (const object of bucket.list('jobs/')) {
    const record = (await bucket.getJson(object.key)) as JobRecord;
    jobs.push({
      service: record.service,
      id: record.id,
      kind: record.kind,
      status: record.status,
      attempt: record.attempt,
      done: record.progress.done,
      total: record.progress.total,
    });
  }
  const open: string[] = [];
  for await (const object of bucket.list('jobs-open/')) open.push(object.key);
  return { jobs, open };
}

/**
 * Objects that only live while a job runs and must be gone once it has ended: import staging,
 * split jobs' plans and units, uploads, and scratch objects under tmp/.
 */
export async function leftovers(s3: S3Config, corpusId: string): Promise<string[]> {
  const bucket = new Bucket(s3);
  const left: string[] = [];
  for (const prefix of [`corpora/${corpusId}/staging/`, 'job-units/', 'uploads/', 'tmp/']) {
    for await (const object of bucket.list(prefix)) left.push(object.key);
  }
  return left;
}

/**
 * The undisturbed run both fault tests compare with, computed once per test process tree: the
 * first file to need it launches a stack of its own (one replica of each service, its own bucket
 * under `root`, so the disturbed run computes every feature itself instead of finding them
 * cached), runs the pipeline, stops it, and leaves the result in a file named after the test
 * runner's pid (a later `node scripts/test.mjs` never reads an old one); a later file reads it.
 */
export async function undisturbedBaseline(
  root: string,
  folder: string,
  settings: PipelineSettings,
): Promise<Baseline> {
  const hash = sha256(JSON.stringify(settings)).slice(0, 12);
  const cached = join(tmpdir(), `mmit-pipeline-baseline-${process.ppid}-${hash}.json`);
  try {
    return JSON.parse(await readFile(cached, 'utf8')) as Baseline;
  } catch {
    // not computed yet in this test run
  }
  const launched = await launch({
    services: ['ingest', 'synth', 'features', 'trainer'],
    gatewayPort: 0,
    freePorts: true,
    dataDir: join(root, 'baseline-s3'),
    env: { ...FAULT_TEST_ENV, MMIT_INGEST_IMPORT_ROOTS: root },
  });
  try {
    const { digest, samples } = await runPipeline({
      client: new PatientClient(launched.gatewayUrl),
      s3: launched.s3,
      folder,
      settings,
    });
    await writeFile(cached, JSON.stringify({ digest, samples }));
    return { digest, samples };
  } finally {
    await launched.stop();
  }
}

export type Baseline = Pick<PipelineResult, 'digest' | 'samples'>;

/** The first sample that differs between two runs, for an assertion's message. */
export function firstDifference(got: string[], want: string[]): string {
  const i = got.findIndex((line, n) => line !== want[n]);
  if (i < 0) return got.length === want.length ? 'none' : `${got.length} samples against ${want.length}`;
  return `sample ${i}: got ${got[i]}\n  want ${want[i]}`;
}

/**
 * What every disturbed run must show once its jobs have settled: every stored job succeeded, none
 * left open, none counting more done than it has, each of the run's jobs stored, results equal to
 * the undisturbed run's, and nothing left in staging. `context` goes into failure messages (e.g. a
 * chaos seed). Returns the stored jobs for the summary line.
 */
export async function assertHealed(
  s3: S3Config,
  result: PipelineResult,
  baseline: Pick<PipelineResult, 'digest' | 'samples'>,
  context = '',
): Promise<JobSummary[]> {
  let stored = await storedJobs(s3);
  for (let i = 0; i < 50 && stored.open.length > 0; i++) {
    await sleep(200);
    stored = await storedJobs(s3);
  }
  const notSucceeded = stored.jobs.filter((j) => j.status !== 'succeeded');
  assert.deepEqual(notSucceeded, [], `every job succeeded ${context}`);
  assert.deepEqual(stored.open, [], 'no job left open');
  assert.deepEqual(
    stored.jobs.filter((j) => j.total !== null && j.done > j.total),
    [],
    'no job counts more items done than it has (units redone after a fault count once)',
  );
  for (const id of result.ids.jobs)
    assert.ok(
      stored.jobs.some((j) => j.id === id),
      `job ${id} stored`,
    );
  assert.deepEqual(
    result.digest,
    baseline.digest,
    `identical to the undisturbed run ${context}; first differing sample: ${firstDifference(result.samples, baseline.samples)}`,
  );
  assert.deepEqual(await leftovers(s3, result.ids.corpus), [], 'staging objects cleaned up');
  return stored.jobs;
}
