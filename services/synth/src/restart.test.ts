// The kill test: a synthesis service in a child process is killed (SIGKILL, no shutdown) in the
// middle of a job; a new process under the same replica name takes the job back at once, reuses
// the units whose drafts were stored, redoes the one in flight, and ends with the same dataset an
// uninterrupted run makes, every item counted once, having asked the LLM again only for the
// request that was in flight.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { JobRecord } from '@mmit/contracts';
import type { DatasetManifest, Sample } from '@mmit/synth';
import { type FakeLlm, startFakeLlm } from '@mmit/synth/testing';
import { DatasetStore, datasetDraftsPrefix } from './datasets/store.js';
import {
  json,
  post,
  type Storage,
  type SynthProcess,
  startStorage,
  startSynth,
  startSynthProcess,
  until,
  waitForJob,
  writeCorpus,
} from './testing/harness.js';

let storage: Storage;
let fake: FakeLlm;
let child: SynthProcess | undefined;

before(async () => {
  storage = await startStorage();
  fake = await startFakeLlm();
});
after(async () => {
  await child?.kill();
  await fake?.close();
  await storage?.stop();
});

async function listKeys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const obj of storage.bucket.list(prefix)) out.push(obj.key);
  return out;
}

test('killed mid-job, the service takes the job back, reuses the stored units and loses nothing', async () => {
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
  fake.reset('ok');
  fake.delayMs = 60;
  // As the launcher names replicas: a restart under the same name takes its jobs back at once.
  const replica = {
    MMIT_SYNTH_LLM_BASE_URL: fake.url,
    MMIT_SYNTH_PART_ITEMS: '2',
    MMIT_REPLICA_ID: 'synth-0',
  };
  child = await startSynthProcess(storage, replica);
  const created = await json<{ dataset: DatasetManifest; job: JobRecord }>(
    await post(`${child.url}/v1/datasets`, { corpusId: corpus.id, recipe }),
  );
  const store = new DatasetStore(storage.bucket);
  const datasetId = created.dataset.id;
  await until('three units drafted', async () => {
    const m = await store.manifest(datasetId);
    return m.itemsDone >= 6 ? m : undefined;
  });
  await child.kill();
  child = undefined;

  const stored = await store.manifest(datasetId);
  assert.equal(stored.status, 'building');
  assert.ok(stored.itemsDone < 24, 'killed before the end');
  assert.deepEqual(stored.parts, [], 'parts are written by the finish step only');
  const drafted = new Map<string, string>();
  for await (const obj of storage.bucket.list(datasetDraftsPrefix(datasetId))) drafted.set(obj.key, obj.etag);
  assert.ok(
    drafted.size * 2 >= stored.itemsDone,
    `${drafted.size} units drafted, ${stored.itemsDone} items counted`,
  );
  const requestsBefore = fake.requests.length;

  fake.delayMs = 0;
  const synth = await startSynth(storage, replica);
  const rewritten = new Set<string>();
  const watching = (async () => {
    // Drafts stored before the kill stay as they were (create-if-absent) until finish removes them.
    for (;;) {
      for await (const obj of storage.bucket.list(datasetDraftsPrefix(datasetId)))
        if (drafted.has(obj.key) && drafted.get(obj.key) !== obj.etag) rewritten.add(obj.key);
      if ((await store.manifest(datasetId)).status !== 'building') return;
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    const job = await waitForJob(synth.url, created.job.id);
    await watching;
    assert.equal(job.status, 'succeeded');
    assert.deepEqual([...rewritten], [], 'stored drafts are never replaced');
    const final = await store.manifest(datasetId);
    assert.equal(final.status, 'ready');
    assert.equal(final.counts.items, 24);
    assert.equal(final.itemsDone, 24);
    assert.equal(final.parts.length, 12);
    assert.equal(job.progress.done, 24, 'no unit counted twice in the progress');
    const finalSamples: Sample[] = [];
    for await (const s of store.samples(final)) finalSamples.push(s);
    assert.equal(new Set(finalSamples.map((s) => s.id)).size, finalSamples.length, 'nothing twice');
    // Each item's conversation was paid for, or answered from the cache, once: the in-flight
    // unit's earlier answers at most come from the cache.
    assert.equal(final.llm.requests + final.llm.cacheHits, 24, JSON.stringify(final.llm));
    assert.ok(final.llm.cacheHits <= 2, JSON.stringify(final.llm));
    const paidAgain = fake.requests.length - requestsBefore;
    assert.ok(
      fake.requests.length <= 24 + 1,
      `at most the in-flight request is asked twice (${fake.requests.length} requests)`,
    );
    assert.ok(paidAgain <= 24 - stored.itemsDone + 1);
    assert.deepEqual(await listKeys(datasetDraftsPrefix(datasetId)), [], 'the drafts are removed');

    // The same recipe, uninterrupted (answered from the cache), makes the same dataset.
    const reference = await json<{ dataset: DatasetManifest; job: JobRecord }>(
      await post(`${synth.url}/v1/datasets`, { corpusId: corpus.id, recipe }),
    );
    await waitForJob(synth.url, reference.job.id);
    const refSamples: Sample[] = [];
    for await (const s of store.samples(await store.manifest(reference.dataset.id))) refSamples.push(s);
    assert.deepEqual(finalSamples, refSamples);
    const again = await store.manifest(reference.dataset.id);
    assert.deepEqual(final.filters, again.filters);
    assert.deepEqual(final.counts, again.counts);
  } finally {
    await synth.close();
  }
});
