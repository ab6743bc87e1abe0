// A run whose encoder features are not cached yet: the trainer asks the real features service
// (MMIT_FEATURES_URL) for them, its state says it is waiting for that job, and it trains once
// the features are in the bucket.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { keys, newId } from '@mmit/contracts';
import { createFeaturesService } from '@mmit/features-service';
import { noisePng, writeCorpus } from '@mmit/features-service/testing';
import type { RunningService } from '@mmit/service-kit';
import type { Bucket } from '@mmit/storage';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { fixturesDir } from '../../../test/paths.js';
import { createTrainerService } from './app.js';
import { readEvents } from './testing/harness.js';

let store: TestStore;
let features: RunningService;
let trainer: RunningService;
let bucket: Bucket;
let datasetId: string;

before(async () => {
  store = await startTestStore({ name: 'trainer-features' });
  const { config } = store;
  bucket = store.bucket;
  // A corpus as ingest writes it, and a dataset as synth writes it: samples name their item and
  // media sha256; the features service finds the media through the corpus.
  const media = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => noisePng(32, 32, i)));
  const { corpusId, items } = await writeCorpus(bucket, media);
  datasetId = newId('dataset');
  const lines = items.map((item, i) =>
    JSON.stringify({
      id: `s${i}`,
      itemId: item.id,
      mediaSha256: item.media!.sha256,
      conversations: [
        { from: 'human', value: '<image>\nWhat is this?' },
        { from: 'gpt', value: i % 2 ? 'a striped pattern' : 'a noisy square' },
      ],
      split: i < 4 ? 'train' : 'validation',
    }),
  );
  await bucket.putJson(keys.datasetManifest(datasetId), { id: datasetId, corpusId, status: 'ready' });
  await bucket.putBuffer(keys.datasetSamples(datasetId, 0), `${lines.join('\n')}\n`);
  features = await createFeaturesService({
    env: { MMIT_FEATURES_PORT: '0', MMIT_LOG_LEVEL: 'silent', MMIT_FEATURES_THREADS: '1' },
    bucket: config,
  }).start();
  trainer = await createTrainerService({
    env: {
      MMIT_TRAINER_PORT: '0',
      MMIT_LOG_LEVEL: 'silent',
      MMIT_FEATURES_URL: features.url,
      MMIT_TRAINER_FEATURES_POLL_MS: '50',
    },
    bucket: config,
    stateIntervalMs: 0,
  }).start();
});
after(async () => {
  await trainer?.close();
  await features?.close();
  await store?.stop();
});

test('missing features are requested from the features service and waited for; the state says so', async () => {
  const res = await fetch(`${trainer.url}/v1/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      datasetId,
      encoder: { spec: { checkpoint: join(fixturesDir, 'tiny-clip-vision') } },
      lm: { checkpoint: join(fixturesDir, 'tiny-llama') },
      batchSize: 2,
      epochs: 1,
      threads: 1,
    }),
  });
  assert.equal(res.status, 202, await res.clone().text());
  const { id } = (await res.json()) as { id: string };
  const events = await readEvents(`${trainer.url}/v1/runs/${id}/events`, (m) =>
    ['succeeded', 'failed'].includes(m.data.status as string),
  );
  const states = events.filter((e) => e.event === 'state').map((e) => e.data);
  const waiting = states.find((s) => s.status === 'waiting_for_features');
  assert.ok(waiting, `states seen: ${states.map((s) => s.status).join(', ')}`);
  assert.match(waiting.message as string, /waiting for features job j_\w+/);
  const final = states[states.length - 1];
  assert.equal(final.status, 'succeeded', JSON.stringify(final.error));
  assert.match(final.encoderKey as string, /^clip-[0-9a-f]{32}$/);
  assert.equal((final.featuresJob as { status: string }).status, 'succeeded');
  // 16 patches of the 32 px tower, CLS dropped (LLaVA's 'patch' selection): 4 samples, batch 2.
  assert.deepEqual(final.data, { train: 4, validation: 2, truncated: 0, dropped: 0, dropReasons: {} });
  assert.equal(final.totalSteps, 2);
});
