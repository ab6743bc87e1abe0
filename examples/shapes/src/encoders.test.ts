import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AUDIO_SIZES, VISION_SIZES, writeRandomClipVision, writeRandomWhisperEncoder } from './encoders.js';
import { audioFeatures, featureRows, imageFeatures } from './features.js';
import { planTask, renderItem } from './generate.js';

const work = mkdtempSync(join(tmpdir(), 'mmit-proof-enc-'));
const plan = planTask({ seed: 5, train: 4, test: 0 });

function distance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return Math.sqrt(sum / a.length);
}

test('the random CLIP tower gives one token per grid cell, and different pictures give different features', async () => {
  writeRandomClipVision(join(work, 'vision'), 1);
  const images = await Promise.all(
    plan.items.filter((i) => i.kind === 'image').map((item, i) => renderItem(item, i)),
  );
  const m = await imageFeatures(
    join(work, 'vision'),
    images.map((i) => i.bytes),
  );
  assert.equal(m.count, 4);
  assert.equal(m.tokens, (VISION_SIZES.imageSize / VISION_SIZES.patchSize) ** 2);
  assert.equal(m.dim, VISION_SIZES.hiddenSize);
  assert.ok(m.data.every(Number.isFinite));
  assert.ok(distance(featureRows(m, 0), featureRows(m, 1)) > 0.05);
  // The same bytes give the same features (the tower is frozen and deterministic).
  const again = await imageFeatures(join(work, 'vision'), [images[0].bytes]);
  assert.ok(distance(featureRows(again, 0), featureRows(m, 0)) < 1e-5);
});

test('the random Whisper encoder gives 25 frames (80 ms each) per 2 s window', async () => {
  writeRandomWhisperEncoder(join(work, 'audio'), 2);
  const clips = await Promise.all(
    plan.items.filter((i) => i.kind === 'audio').map((item, i) => renderItem(item, i)),
  );
  const m = await audioFeatures(
    join(work, 'audio'),
    clips.map((c) => c.bytes),
  );
  assert.deepEqual([m.count, m.tokens, m.dim], [4, AUDIO_SIZES.positions, AUDIO_SIZES.dModel]);
  assert.ok(m.data.every(Number.isFinite));
  assert.ok(distance(featureRows(m, 0), featureRows(m, 1)) > 0.01);
});
