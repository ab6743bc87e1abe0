// Replicas: synth services over one bucket share a dataset job. Two of them both take its units,
// and the dataset is exactly the one a single service makes (cross-unit duplicates included); a
// replica killed mid-job (SIGKILL) leaves its unit and the job to another, which finishes them
// with the same output; a cancel sent to a replica that does not own the job marks the dataset.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type JobRecord, JobUnitSchema, keys } from '@mmit/contracts';
import type { DatasetManifest, ItemSynthOutcome, Sample } from '@mmit/synth';
import { type FakeLlm, startFakeLlm } from '@mmit/synth/testing';
import { DatasetStore } from './datasets/store.js';
import {
  json,
  post,
  type Storage,
  type SynthProcess,
  startStorage,
  startSynth,
  startSynthProcess,
  type TestItem,
  until,
  waitForJob,
  writeCorpus,
} from './testing/harness.js';

let storage: Storage;
let fake: FakeLlm;
let store: DatasetStore;
/** Services a test started and has not closed yet (closed here if the test failed). */
const running = new Set<{ close(): Promise<void> }>();
let child: SynthProcess | undefined;
/** Unit watchers still running (stopped after the tests, should one fail before stopping its own). */
const watchers = new Set<() => Promise<unknown>>();

before(async () => {
  storage = await startStorage();
  fake = await startFakeLlm();
  store = new DatasetStore(storage.bucket);
});
after(async () => {
  for (const stop of watchers) await stop();
  await child?.kill();
  for (const synth of running) await synth.close();
  await fake?.close();
  await storage?.stop();
});

// Duplicates only a dataset-wide filter finds: the same first caption comes back every 9 items, so
// with 3 items a unit (the harness's MMIT_SYNTH_PART_ITEMS) the repeat is always in another unit.
// The fake LLM's conversation repeats the first caption, so repeats make the same sample; the
// second caption makes every request different, so none is answered from the cache and every
// unit takes its time (long enough to be seen running).
const recipe = {
  kinds: { brief: {}, conversation: {} },
  generator: 'llm',
  llm: { concurrency: 1, retries: 0 },
  filters: { duplicateScope: 'dataset' },
};

function corpusItems(theme: string): TestItem[] {
  const things = ['dog', 'cat', 'horse', 'bird', 'cow', 'goat', 'duck', 'fox', 'pig'];
  return Array.from({ length: 36 }, (_, n) => ({
    captions: [
      `A ${theme} ${things[n % 9]} stands next to ${n % 9} small boxes on a table.`,
      `It was photographed on day ${n} of the farm visit.`,
    ],
  }));
}

async function replica(name: string, env: Record<string, string> = {}) {
  const synth = await startSynth(storage, {
    MMIT_SYNTH_LLM_BASE_URL: fake.url,
    MMIT_REPLICA_ID: name,
    ...env,
  });
  running.add(synth);
  return {
    url: synth.url,
    async close() {
      running.delete(synth);
      await synth.close();
    },
  };
}

async function create(url: string, corpusId: string) {
  const res = await post(`${url}/v1/datasets`, { corpusId, recipe });
  assert.equal(res.status, 202, await res.clone().text());
  return json<{ dataset: DatasetManifest; job: JobRecord }>(res);
}

/**
 * What reading a job's unit records until stopped shows: who held each unit while it ran, and the
 * highest attempt of each (a unit record outlives its run until the job ends, so a second run is
 * seen even when it is too quick to be caught running).
 */
function watchUnits(jobId: string) {
  const holders = new Map<number, Set<string>>();
  const attempts = new Map<number, number>();
  let watching = true;
  const look = async () => {
    for await (const obj of storage.bucket.list(keys.jobUnitsPrefix('synth', jobId))) {
      if (!/unit-\d+\.json$/.test(obj.key)) continue;
      const unit = await storage.bucket.getJsonIfExists(obj.key, JobUnitSchema);
      if (!unit) continue;
      attempts.set(unit.n, Math.max(attempts.get(unit.n) ?? 0, unit.attempt));
      if (unit.status === 'running' && unit.lease)
        holders.set(unit.n, (holders.get(unit.n) ?? new Set()).add(unit.lease.owner));
    }
  };
  const done = (async () => {
    while (watching) {
      // A record removed between listing and reading is no news.
      await look().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const stop = async () => {
    watching = false;
    watchers.delete(stop);
    await done;
    return { holders, attempts };
  };
  watchers.add(stop);
  return { stop };
}

/** Everything a dataset holds but its identity, timestamps, version and what the LLM cost. */
async function contentsOf(datasetId: string) {
  const m = await store.manifest(datasetId);
  const samples: Sample[] = [];
  const outcomes: ItemSynthOutcome[] = [];
  for (const part of m.parts) {
    samples.push(...(await store.readSamples(datasetId, part.n)));
    outcomes.push(...(await store.readOutcomes(datasetId, part.n)));
  }
  const { status, totalItems, itemsDone, parts, counts, filters, diversity, warnings } = m;
  return {
    manifest: { status, totalItems, itemsDone, parts, counts, filters, diversity, warnings },
    samples,
    outcomes,
  };
}

test('two replicas both take units of one dataset job, and make the dataset one replica makes', async () => {
  const corpus = await writeCorpus(storage.bucket, corpusItems('small'), 8);
  const a = await replica('synth-a');
  const b = await replica('synth-b');
  fake.reset('ok');
  fake.delayMs = 30;
  const shared = await create(a.url, corpus.id);
  const units = watchUnits(shared.job.id);
  const job = await waitForJob(a.url, shared.job.id);
  const { holders } = await units.stop();
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  assert.deepEqual(job.units?.succeeded, [...Array(12).keys()]);
  assert.equal(job.progress.done, 36);
  assert.equal(job.progress.total, 36);
  const workers = new Set([...holders.values()].flatMap((h) => [...h]));
  assert.deepEqual([...workers].sort(), ['synth-a', 'synth-b'], 'both replicas took units');

  await b.close();
  fake.delayMs = 0;
  const alone = await create(a.url, corpus.id);
  assert.equal((await waitForJob(a.url, alone.job.id)).status, 'succeeded');

  const mine = await contentsOf(shared.dataset.id);
  assert.deepEqual(mine, await contentsOf(alone.dataset.id));
  assert.equal(mine.manifest.status, 'ready');
  assert.equal(mine.manifest.counts.items, 36);
  assert.equal(mine.manifest.parts.length, 12);
  assert.equal(mine.samples.length, mine.manifest.counts.samples);
  // The second and later rounds of captions are duplicates of the first, found across units.
  assert.ok(
    (mine.manifest.filters.removed.exact_duplicate?.samples ?? 0) >= 27,
    JSON.stringify(mine.manifest.filters.removed),
  );
  // Each conversation was asked for once, by whichever replica.
  const usage = (await store.manifest(shared.dataset.id)).llm;
  assert.equal(usage.requests, 36, JSON.stringify(usage));
  await a.close();
});

test('a replica killed mid-job leaves its unit and the job to another, which makes the same dataset', async () => {
  const corpus = await writeCorpus(storage.bucket, corpusItems('large'), 8);
  const fast = { MMIT_JOB_LEASE_SEC: '1', MMIT_SYNTH_PART_ITEMS: '3' };
  fake.reset('ok');
  fake.delayMs = 300;
  child = await startSynthProcess(storage, {
    ...fast,
    MMIT_SYNTH_LLM_BASE_URL: fake.url,
    MMIT_REPLICA_ID: 'synth-k',
  });
  const doomed = await create(child.url, corpus.id);
  const units = watchUnits(doomed.job.id);
  // Killed while a request is in flight, so in the middle of a unit, after two units were drafted.
  await until('two units drafted', async () =>
    (await store.manifest(doomed.dataset.id)).itemsDone >= 6 ? true : undefined,
  );
  const asked = fake.requests.length;
  await until('a request in flight', () => (fake.requests.length > asked ? true : undefined));
  await child.kill();
  child = undefined;
  fake.delayMs = 0;
  const orphans: number[] = [];
  for await (const obj of storage.bucket.list(keys.jobUnitsPrefix('synth', doomed.job.id))) {
    if (!/unit-\d+\.json$/.test(obj.key)) continue;
    const unit = await storage.bucket.getJson(obj.key, JobUnitSchema);
    if (unit.status === 'running' && unit.lease?.owner === 'synth-k') orphans.push(unit.n);
  }
  assert.equal(orphans.length, 1, 'the killed replica held one unit');

  const survivor = await replica('synth-a', fast);
  const job = await waitForJob(survivor.url, doomed.job.id);
  const { attempts } = await units.stop();
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  // The killed replica ran it first; only the survivor was left to run it again.
  assert.equal(attempts.get(orphans[0]), 2, `unit ${orphans[0]} was taken over`);
  assert.equal(job.progress.done, 36, 'no unit counted twice');

  const alone = await create(survivor.url, corpus.id);
  assert.equal((await waitForJob(survivor.url, alone.job.id)).status, 'succeeded');
  const mine = await contentsOf(doomed.dataset.id);
  assert.deepEqual(mine, await contentsOf(alone.dataset.id));
  assert.equal(mine.manifest.counts.items, 36);
  assert.equal(new Set(mine.samples.map((s) => s.id)).size, mine.samples.length);
  const usage = (await store.manifest(doomed.dataset.id)).llm;
  assert.equal(usage.requests + usage.cacheHits, 36, JSON.stringify(usage));
  await survivor.close();
});

test('a cancel sent to a replica that does not own the job stops it and marks the dataset', async () => {
  const corpus = await writeCorpus(storage.bucket, corpusItems('tiny'), 8);
  const owner = await replica('synth-c1');
  const other = await replica('synth-c2');
  fake.reset('ok');
  fake.delayMs = 200;
  // Submitted to `owner`, which claims it at once.
  const { dataset, job } = await create(owner.url, corpus.id);
  await until('a unit drafted', async () =>
    (await store.manifest(dataset.id)).itemsDone > 0 ? true : undefined,
  );
  const res = await fetch(`${other.url}/v1/datasets/jobs/${job.id}/cancel`, { method: 'POST' });
  assert.equal(res.status, 202);
  const ended = await waitForJob(other.url, job.id);
  assert.equal(ended.status, 'cancelled');
  const manifest = await until('the dataset marked', async () => {
    const m = await store.manifest(dataset.id);
    return m.status === 'building' ? undefined : m;
  });
  assert.equal(manifest.status, 'failed');
  assert.deepEqual(manifest.warnings, ['the job was cancelled']);
  assert.deepEqual(manifest.parts, [], 'nothing half-made is listed');
  fake.delayMs = 0;
  await Promise.all([owner.close(), other.close()]);
});
