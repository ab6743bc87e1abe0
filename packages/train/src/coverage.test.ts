// What a run trains on: samples per modality against the encoder, media against the feature
// cache, and refusals that name the counts and the fix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkCoverage, describeCoverage, planCoverage, UnusableSamplesError } from './coverage.js';
import type { DatasetSample } from './dataset.js';

const KEY = `clip-${'ab'.repeat(16)}`;
const sample = (
  id: string,
  modality: DatasetSample['modality'],
  media: string | null,
  split: DatasetSample['split'] = 'train',
): DatasetSample => ({
  id,
  modality,
  media,
  split,
  conversations: [
    { from: 'human', value: '<image>' },
    { from: 'gpt', value: 'x' },
  ],
});

test('audio samples under an image encoder are counted as a modality without an encoder, not as missing features', () => {
  const samples = [
    sample('i1', 'image', 'a'.repeat(64)),
    sample('i2', 'image', 'b'.repeat(64), 'validation'),
    sample('i3', 'image', 'c'.repeat(64)),
    sample('a1', 'audio', 'd'.repeat(64)),
    sample('a2', 'audio', 'e'.repeat(64), 'validation'),
  ];
  const cached = new Set(['a'.repeat(64), 'b'.repeat(64)]);
  const plan = planCoverage(samples, {
    encoderKey: KEY,
    encoderModality: 'image',
    hasFeatures: (sha) => cached.has(sha),
  });
  assert.deepEqual(plan.coverage, {
    samples: 5,
    encoder: { key: KEY, modality: 'image' },
    modalities: {
      image: { samples: 3, train: 2, validation: 1, encoder: KEY },
      audio: { samples: 2, train: 1, validation: 1, encoder: null },
    },
    usable: 2,
    drops: [
      {
        kind: 'features',
        modality: 'image',
        samples: 1,
        media: 1,
        reason: `features missing for 1 media under ${KEY}: run the features job for this dataset`,
      },
      {
        kind: 'modality',
        modality: 'audio',
        samples: 2,
        reason: `modality audio has no encoder in this run (${KEY} reads image)`,
      },
    ],
  });
  assert.equal(plan.dropReason(samples[0]), undefined);
  assert.match(plan.dropReason(samples[3]) ?? '', /^modality audio has no encoder/);
  assert.match(
    describeCoverage(plan.coverage),
    /^2 of 5 samples usable: image 3 .*audio 2 .* -> no encoder\. Left out: 1 \(features missing/,
  );

  assert.throws(
    () => checkCoverage('d_x', plan.coverage, false),
    (err: unknown) =>
      err instanceof UnusableSamplesError &&
      err.problemCode === 'unusable_samples' &&
      /3 of its 5 samples cannot be trained on/.test(err.message) &&
      /2 samples: modality audio has no encoder in this run .*Whisper/.test(err.message) &&
      /mmit features run --dataset/.test(err.message) &&
      /"allowDrops": true in the spec to train on the other 2 samples/.test(err.message),
  );
  checkCoverage('d_x', plan.coverage, true);
});

test("samples that name no modality are taken to be the encoder's; before features are known none is missing", () => {
  const plan = planCoverage([sample('u', null, 'a'.repeat(64)), sample('n', 'image', null)], {
    encoderKey: null,
    encoderModality: 'audio',
  });
  assert.deepEqual(plan.coverage.drops, [
    { kind: 'no_media', modality: 'image', samples: 1, reason: 'no media' },
  ]);
  assert.equal(plan.coverage.modalities.unknown.encoder, null);
  // A sample without media is counted, but is not a drop the run refuses over.
  checkCoverage('d_x', plan.coverage, false);
});
