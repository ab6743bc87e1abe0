// LoRA merging against a hand computation, and the merged view over a real checkpoint: adapted
// weights change by exactly scale * B @ A, every other weight reads through unchanged.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openCheckpointFolder } from '@mmit/models';
import { hostTensor } from '@mmit/tensor';
import { fixturesDir } from '../../../test/paths.js';
import { ExportError } from './errors.js';
import { mergedWeightNames, mergeLoraWeight, withMergedLora } from './lora-merge.js';
import type { ExportLora } from './run-source.js';

test('mergeLoraWeight adds scale * B @ A to W', () => {
  const w = hostTensor('float32', [2, 3], [1, 2, 3, 4, 5, 6]);
  const a = hostTensor('float32', [1, 3], [1, 0, -1]); // (r=1, in=3)
  const b = hostTensor('float32', [2, 1], [2, -3]); // (out=2, r=1)
  const merged = mergeLoraWeight(w, a, b, 0.5);
  // B @ A = [[2, 0, -2], [-3, 0, 3]], times 0.5, plus W.
  assert.deepEqual(Array.from(merged.data), [2, 2, 2, 2.5, 5, 7.5]);
});

test('mergeLoraWeight names the weight when the adapter shapes do not fit', () => {
  const w = hostTensor('float32', [2, 3]);
  assert.throws(
    () =>
      mergeLoraWeight(
        w,
        hostTensor('float32', [1, 4]),
        hostTensor('float32', [2, 1]),
        1,
        'layers.0.attn.q.weight',
      ),
    (err: unknown) => err instanceof ExportError && /layers\.0\.attn\.q\.weight/.test(err.message),
  );
});

test('withMergedLora changes only the adapted weights of a checkpoint', () => {
  const base = openCheckpointFolder(join(fixturesDir, 'tiny-llama'));
  const [out, inp] = base.dims('layers.1.attn.v.weight'); // (32, 64)
  const a = hostTensor(
    'float32',
    [2, inp],
    Array.from({ length: 2 * inp }, (_, i) => (i % 7) - 3),
  );
  const b = hostTensor(
    'float32',
    [out, 2],
    Array.from({ length: out * 2 }, (_, i) => (i % 5) * 0.01),
  );
  const lora: ExportLora = {
    rank: 2,
    alpha: 4,
    targets: ['v_proj'],
    weights: { 'lora.layers.1.attn.v.A': a, 'lora.layers.1.attn.v.B': b },
  };
  assert.deepEqual(mergedWeightNames(lora), ['layers.1.attn.v.weight']);
  const merged = withMergedLora(base, lora);
  assert.deepEqual(merged.weight('layers.0.attn.v.weight').data, base.weight('layers.0.attn.v.weight').data);
  const w = base.weight('layers.1.attn.v.weight').data;
  const m = merged.weight('layers.1.attn.v.weight').data;
  for (const [o, i] of [
    [0, 0],
    [5, 17],
    [31, 63],
  ]) {
    const delta = 2 * (b.data[o * 2] * a.data[i] + b.data[o * 2 + 1] * a.data[inp + i]);
    assert.ok(Math.abs(m[o * inp + i] - (w[o * inp + i] + delta)) < 1e-6, `[${o}, ${i}]`);
  }
  base.close();
});
