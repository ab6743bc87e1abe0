// The kill test: a synthesis service in a child process is killed (SIGKILL, no shutdown) in the
// middle of a job; a new service on the same bucket resumes the job from the last published
// part, keeps every sample already written, and ends with the same dataset an uninterrupted run
// makes, having asked the LLM again only for the chunk that was in flight.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { JobRecord } from '@mmit/contracts';
import type { DatasetManifest, Sample } from '@mmit/synth';
import { type FakeLlm, startFakeLlm } from '@mmit/synth/testing';
import { DatasetStore } from './datasets/store.js';
import {
  json,
  post,
  type Storage,
  startStorage,
  startSynth,
  waitForJob,
  writeCorpus,
} from './testing/harness.js';

let storage: Storage;
let fake: FakeLlm;
let child: ChildProcess | undefined;

before(async () => {
  storage = await startStorage();
  fake = await startFakeLlm();
});
after(async () => {
  child?.kill('SIGKILL');
  await fake?.close();
  await storage?.stop();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('killed mid-job, the service resumes from the last part and loses nothing', async () => {
  const animals = ['dog', 'cat', 'horse', 'bird', 'cow', 'goat'];
  const colours = ['red', 'blue', 'green', 'brown'];
  const corpus = await writeCorpus(
    storage.bucket,
    Array.from({ length: 24 }, (_, n) => ({
      captions: [`A ${colours[n % 4]} ${animals[n % 6]} stands next to ${n % 5} small boxes on a table.`],
    })),
    10,
  );
  const recipe = {
    kinds: { brief: {}, conversation: {} },
    generator: 'llm',
    llm: { concurrency: 1, retries: 0 },
  };
  const env = {
    MMIT_S3_ENDPOINT: storage.config.endpoint,
    MMIT_S3_ACCESS_KEY: storage.config.accessKey,
    MMIT_S3_SECRET_KEY: storage.config.secretKey,
    MMIT_S3_BUCKET: storage.config.bucket,
    MMIT_SYNTH_LLM_BASE_URL: fake.url,
    MMIT_SYNTH_PART_ITEMS: '2',
    MMIT_LOG_LEVEL: 'silent',
  };
  fake.reset('ok');
  fake.delayMs = 60;
  const port = await freePort();
  const main = fileURLToPath(new URL('./main.ts', import.meta.url));
  child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, ...env, MMIT_SYNTH_PORT: String(port) },
    stdio: 'ignore',
  });
  const childUrl = `http://127.0.0.1:${port}`;
  await until('the child service', async () => ((await fetch(`${childUrl}/readyz`)).ok ? true : undefined));
  const created = await json<{ dataset: DatasetManifest; job: JobRecord }>(
    await post(`${childUrl}/v1/datasets`, { corpusId: corpus.id, recipe }),
  );
  const store = new DatasetStore(storage.bucket);
  const datasetId = created.dataset.id;
  const atKill = await until('three published parts', async () => {
    const m = await store.manifest(datasetId);
    return m.parts.length >= 3 ? m : undefined;
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child!.once('exit', resolve));
  child = undefined;

  const stored = await store.manifest(datasetId);
  assert.equal(stored.status, 'building');
  assert.ok(stored.itemsDone < 24, 'killed before the end');
  assert.equal(stored.itemsDone, stored.parts.length * 2);
  const keptBefore: Sample[] = [];
  for await (const s of store.samples(stored)) keptBefore.push(s);
  assert.ok(keptBefore.length >= atKill.parts.length * 2);
  const requestsBefore = fake.requests.length;

  fake.delayMs = 0;
  const synth = await startSynth(storage, { MMIT_SYNTH_LLM_BASE_URL: fake.url, MMIT_SYNTH_PART_ITEMS: '2' });
  try {
    const job = await waitForJob(synth.url, created.job.id);
    assert.equal(job.status, 'succeeded');
    assert.equal(job.attempt, 2);
    const final = await store.manifest(datasetId);
    assert.equal(final.status, 'ready');
    assert.equal(final.counts.items, 24);
    assert.equal(final.parts.length, 12);
    const finalSamples: Sample[] = [];
    for await (const s of store.samples(final)) finalSamples.push(s);
    assert.deepEqual(
      finalSamples.slice(0, keptBefore.length),
      keptBefore,
      'samples written before the kill are kept as they were',
    );
    assert.equal(new Set(finalSamples.map((s) => s.id)).size, finalSamples.length, 'nothing twice');
    const paidAgain = fake.requests.length - requestsBefore;
    assert.ok(
      fake.requests.length <= 24 + 1,
      `at most the in-flight request is asked twice (${fake.requests.length} requests)`,
    );
    assert.ok(paidAgain <= 24 - stored.itemsDone + 1);

    // The same recipe, uninterrupted (answered from the cache), makes the same dataset.
    const reference = await json<{ dataset: DatasetManifest; job: JobRecord }>(
      await post(`${synth.url}/v1/datasets`, { corpusId: corpus.id, recipe }),
    );
    await waitForJob(synth.url, reference.job.id);
    const refSamples: Sample[] = [];
    for await (const s of store.samples(await store.manifest(reference.dataset.id))) refSamples.push(s);
    assert.deepEqual(finalSamples, refSamples);
    assert.deepEqual(final.filters, (await store.manifest(reference.dataset.id)).filters);
  } finally {
    await synth.close();
  }
});
