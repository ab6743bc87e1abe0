// Which media a job covers: a corpus's accepted items, or the corpus items a dataset's samples use.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { keys, newId } from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { corpusMedia, datasetMedia, SourceNotFoundError } from './sources.js';
import { noisePng, toneWav, writeCorpus } from './testing/corpus.js';

let store: TestStore;
let bucket: Bucket;

before(async () => {
  store = await startTestStore({ name: 'features-sources' });
  bucket = store.bucket;
});

after(() => store?.stop());

test('a dataset covers exactly the corpus media its samples use, of the encoder modality', async () => {
  const media = [
    await noisePng(32, 32, 1),
    await noisePng(32, 32, 2),
    await noisePng(32, 32, 3),
    toneWav(1, 440),
  ];
  const { corpusId, items } = await writeCorpus(bucket, media, { duplicates: 1 });
  const datasetId = newId('dataset');
  await bucket.putJson(keys.datasetManifest(datasetId), { id: datasetId, corpusId });
  // Samples use image items 0 and 2 (twice), the audio item, and the duplicate of item 0.
  const used = [items[0], items[2], items[2], items[3], items[4]];
  await bucket.putBuffer(
    keys.datasetSamples(datasetId, 0),
    `${used.map((item, i) => JSON.stringify({ id: `s${i}`, itemId: item.id })).join('\n')}\n`,
  );

  const images = await datasetMedia(bucket, datasetId, 'image');
  const expected = [items[0].media!.sha256, items[2].media!.sha256].sort();
  assert.deepEqual(
    images.tasks.map((t) => t.sha256),
    expected,
  );
  const audio = await datasetMedia(bucket, datasetId, 'audio');
  assert.deepEqual(
    audio.tasks.map((t) => t.key),
    [items[3].audio!.normalizedKey],
  );
  // The whole corpus covers the third image too.
  assert.equal((await corpusMedia(bucket, corpusId, 'image')).tasks.length, 3);
});

test('an unknown dataset is a clear not-found', async () => {
  await assert.rejects(datasetMedia(bucket, newId('dataset'), 'image'), SourceNotFoundError);
});
