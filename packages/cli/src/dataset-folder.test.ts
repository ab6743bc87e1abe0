// The self-contained dataset folder, with media served from a real (embedded) S3 store: records
// in both layouts with folder-relative paths, LLaMA-Factory's dataset_info.json, the media bytes
// by their hash, a rerun that downloads nothing, a damaged file fetched again, and a download
// whose bytes do not match its name refused.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { keys, type Sample } from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { DatasetFolderError, datasetInfo, writeDatasetFolder } from './dataset-folder.js';

let store: TestStore;
let dir: string;
let bucket: Bucket;
const media = [Buffer.from('a picture'), Buffer.from('another picture'), Buffer.from('RIFF a clip')];
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const imageKeys = [keys.media(sha(media[0]), 'jpg'), keys.media(sha(media[1]), 'png')];
const audioKey = keys.media(sha(media[2]), 'wav');

function sample(id: string, split: Sample['split'], image?: string, audio?: string): Sample {
  return {
    id,
    kind: 'brief',
    itemId: 'item_0000000000000000000000000000',
    modality: audio ? 'audio' : 'image',
    split,
    generator: 'template',
    ...(image ? { image } : {}),
    ...(audio ? { audio } : {}),
    conversations: [
      { from: 'human', value: `${audio ? '<audio>' : '<image>'}\nDescribe it.` },
      { from: 'gpt', value: `sample ${id}` },
    ],
  } as Sample;
}

const samples = [
  sample('s1', 'train', imageKeys[0]),
  sample('s2', 'train', imageKeys[1]),
  sample('s3', 'train', undefined, audioKey),
  sample('s4', 'validation', imageKeys[0]),
];
async function* streamOf(list: Sample[]) {
  yield* list;
}

before(async () => {
  store = await startTestStore({ name: 'dataset-folder' });
  ({ dir, bucket } = store);
  for (const [i, key] of [...imageKeys, audioKey].entries()) await bucket.putBuffer(key, media[i]);
});
after(() => store?.stop());

let fetched: string[] = [];
const fetchMedia = async (key: string) => {
  fetched.push(key);
  return bucket.getStream(key);
};

test('writes both layouts with relative paths, dataset_info.json and the media by hash', async () => {
  const out = join(dir, 'out');
  fetched = [];
  const result = await writeDatasetFolder({
    dir: out,
    datasetId: 'ds_1',
    samples: streamOf(samples),
    fetchMedia,
  });
  assert.deepEqual(result.samples, { train: 3, validation: 1 });
  assert.deepEqual(result.media, { files: 3, downloaded: 3, kept: 0 });
  assert.equal(fetched.length, 3, 'a medium two samples share is fetched once');

  const llava = JSON.parse(readFileSync(join(out, 'llava_train.json'), 'utf8'));
  assert.deepEqual(
    llava.map((r: { image?: string; audio?: string }) => r.image ?? r.audio),
    [`images/${sha(media[0])}.jpg`, `images/${sha(media[1])}.png`, `audios/${sha(media[2])}.wav`],
  );
  const sharegpt = readFileSync(join(out, 'sharegpt_train.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(sharegpt[2].audios, [`audios/${sha(media[2])}.wav`]);
  assert.deepEqual(sharegpt[2].images, []);
  // LLaMA-Factory's rule: as many placeholders in the turns as paths in the media column.
  for (const r of sharegpt) {
    const text = r.conversations.map((t: { value: string }) => t.value).join('');
    assert.equal(text.split('<image>').length - 1, r.images.length);
    assert.equal(text.split('<audio>').length - 1, r.audios.length);
  }
  for (const r of [
    ...llava,
    ...sharegpt.flatMap((x) => [...x.images, ...x.audios].map((p: string) => ({ image: p }))),
  ]) {
    const path = join(out, r.image ?? r.audio);
    assert.equal(sha(readFileSync(path)), path.split('/').pop()!.split('.')[0]);
  }
  assert.deepEqual(
    JSON.parse(readFileSync(join(out, 'dataset_info.json'), 'utf8')),
    datasetInfo('ds_1', ['train', 'validation']),
  );
  assert.equal(JSON.parse(readFileSync(join(out, 'llava_validation.json'), 'utf8')).length, 1);
  assert.match(readFileSync(join(out, 'README.md'), 'utf8'), /mmit_ds_1_train/);
});

test('a rerun keeps media whose bytes match their name and fetches a damaged one again', async () => {
  const out = join(dir, 'out');
  const damaged = join(out, `images/${sha(media[1])}.png`);
  writeFileSync(damaged, 'not the picture');
  fetched = [];
  const result = await writeDatasetFolder({
    dir: out,
    datasetId: 'ds_1',
    samples: streamOf(samples),
    fetchMedia,
  });
  assert.deepEqual(result.media, { files: 3, downloaded: 1, kept: 2 });
  assert.deepEqual(fetched, [imageKeys[1]]);
  assert.deepEqual(readFileSync(damaged), media[1]);
});

test('a download whose bytes do not hash to its name is refused, naming the key', async () => {
  const out = join(dir, 'bad');
  await assert.rejects(
    writeDatasetFolder({
      dir: out,
      datasetId: 'ds_1',
      samples: streamOf([samples[0]]),
      fetchMedia: async () => Readable.from([Buffer.from('something else')]),
    }),
    (err: unknown) => err instanceof DatasetFolderError && err.message.includes(imageKeys[0]),
  );
  assert.equal(existsSync(join(out, `images/${sha(media[0])}.jpg`)), false);
});
