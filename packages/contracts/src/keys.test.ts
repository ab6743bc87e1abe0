import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newId } from './ids.js';
import { InvalidKeyPartError, keys, parseMediaKey, parseUploadKey } from './keys.js';
import { TRAVERSAL_SPELLINGS } from './traversal.js';

const sha = 'ab'.padEnd(64, '0');

test('media keys are content-addressed and fanned out on the first two hex characters', () => {
  assert.equal(keys.media(sha, 'jpg'), `media/sha256/ab/${sha}.jpg`);
  assert.equal(keys.original(sha, '.PNG'), `media/original/ab/${sha}.png`);
  assert.equal(keys.thumbnail(sha), `media/thumb/ab/${sha}.webp`);
  assert.equal(keys.audio16k(sha), `media/audio16k/ab/${sha}.wav`);
});

test('feature keys: the encoder record, shards and their index segments under the encoder key', () => {
  const encoder = `clip-${'0'.repeat(32)}`;
  const shard = 's-00abcdefg-0123abcd';
  assert.equal(keys.featuresEncoder(encoder), `features/${encoder}/encoder.json`);
  assert.equal(keys.featureShard(encoder, shard), `features/${encoder}/shards/${shard}.safetensors`);
  assert.equal(keys.featureIndexSegment(encoder, shard), `features/${encoder}/index/${shard}.json`);
  assert.ok(keys.featureShard(encoder, shard).startsWith(keys.featureShardsPrefix(encoder)));
  assert.ok(keys.featureIndexSegment(encoder, shard).startsWith(keys.featureIndexPrefix(encoder)));
  assert.throws(() => keys.featureShard(encoder, '../x'), InvalidKeyPartError);
  assert.throws(() => keys.featureIndexSegment('../up', shard), InvalidKeyPartError);
});

test('corpus, dataset, run and job keys follow the documented layout', () => {
  const c = newId('corpus');
  const d = newId('dataset');
  const r = newId('run');
  const j = newId('job');
  assert.equal(keys.corpusManifest(c), `corpora/${c}/manifest.json`);
  assert.equal(keys.corpusItems(c, 'part-00001'), `corpora/${c}/items/part-00001.jsonl`);
  assert.equal(keys.datasetManifest(d), `datasets/${d}/manifest.json`);
  assert.equal(keys.datasetSamples(d, 3), `datasets/${d}/samples-00003.jsonl`);
  assert.equal(keys.runSpec(r), `runs/${r}/spec.json`);
  assert.equal(keys.runState(r), `runs/${r}/state.json`);
  assert.equal(keys.runMetrics(r), `runs/${r}/metrics.jsonl`);
  assert.equal(keys.runCheckpoint(r, 500), `runs/${r}/checkpoints/step-500/`);
  assert.equal(keys.job('ingest', j), `jobs/ingest/${j}.json`);
  assert.ok(keys.job('ingest', j).startsWith(keys.jobsPrefix('ingest')));
});

test('values that could escape their prefix are refused with the part named', () => {
  assert.throws(
    () => keys.corpusManifest('../../etc'),
    (e: unknown) => {
      assert.ok(e instanceof InvalidKeyPartError);
      assert.equal(e.part, 'corpus id');
      return true;
    },
  );
  assert.throws(() => keys.media('AB'.padEnd(64, '0'), 'jpg'), /sha256/);
  assert.throws(() => keys.media(sha, 'j/pg'), /extension/);
  assert.throws(() => keys.corpusItems(newId('corpus'), '..'), /part/);
  assert.throws(() => keys.job('ingest/../x', newId('job')), /service/);
  assert.throws(() => keys.upload(newId('upload'), 'a/b.tar'), /filename/);
  assert.throws(() => keys.datasetSamples(newId('dataset'), -1), /sample part/);
});

test('an upload key from a request is accepted only as keys.upload builds it', () => {
  const id = newId('upload');
  assert.deepEqual(parseUploadKey(keys.upload(id, 'photos.tar')), { uploadId: id, filename: 'photos.tar' });
  // A resumable upload's session records live beside its object but are never upload keys.
  assert.throws(() => parseUploadKey(keys.uploadSession(id)));
  assert.throws(() => parseUploadKey(keys.uploadPart(id, 1)));
  assert.ok(keys.uploadPart(id, 3).startsWith(keys.uploadPrefix(id)));
  assert.throws(() => keys.uploadPart(id, 0));
  for (const spelling of TRAVERSAL_SPELLINGS) {
    for (const key of [`uploads/${spelling}`, `uploads/${id}/${spelling}`, `uploads/${spelling}/x.tar`]) {
      assert.throws(() => parseUploadKey(key), InvalidKeyPartError, key);
    }
  }
  assert.throws(() => parseUploadKey(`uploads/${id}/a/b.tar`), InvalidKeyPartError);
  assert.throws(() => parseUploadKey(`/uploads/${id}/x.tar`), InvalidKeyPartError);
});

test('a media key from a request is accepted only in its content-addressed form', () => {
  assert.deepEqual(parseMediaKey(keys.media(sha, 'jpg')), { kind: 'sha256', sha256: sha, extension: 'jpg' });
  assert.equal(parseMediaKey(keys.thumbnail(sha)).kind, 'thumb');
  for (const spelling of TRAVERSAL_SPELLINGS) {
    for (const key of [`media/${spelling}`, `media/sha256/ab/${spelling}`, `media/${spelling}/${sha}.jpg`]) {
      assert.throws(() => parseMediaKey(key), InvalidKeyPartError, key);
    }
  }
  assert.throws(() => parseMediaKey(`media/sha256/cd/${sha}.jpg`), InvalidKeyPartError, 'fan must match');
  assert.throws(() => parseMediaKey(`corpora/sha256/ab/${sha}.jpg`), InvalidKeyPartError);
});
