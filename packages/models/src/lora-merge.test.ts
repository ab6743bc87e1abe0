// The one LoRA merge (serve and the exporters both read merged weights through it): against a hand
// computation, rounded once from float64, and as a view over a real checkpoint that changes the
// adapted weights by exactly scale * B @ A and nothing else.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { mulberry32 } from '@mmit/random';
import { hostTensor } from '@mmit/tensor';
import { fixturesDir } from '../../../test/paths.js';
import { openCheckpointFolder } from './checkpoint.js';
import {
  type LoraAdapters,
  LoraMergeError,
  loraMergedWeightNames,
  mergeLoraWeight,
  withMergedLora,
} from './lora-merge.js';

test('mergeLoraWeight adds scale * B @ A to W', () => {
  const w = hostTensor('float32', [2, 3], [1, 2, 3, 4, 5, 6]);
  const a = hostTensor('float32', [1, 3], [1, 0, -1]); // (r=1, in=3)
  const b = hostTensor('float32', [2, 1], [2, -3]); // (out=2, r=1)
  // B @ A = [[2, 0, -2], [-3, 0, 3]], times 0.5, plus W.
  assert.deepEqual(Array.from(mergeLoraWeight(w, a, b, 0.5).data), [2, 2, 2, 2.5, 5, 7.5]);
});

test('the merged weight is the float64 sum rounded once to float32, at any rank', () => {
  const random = mulberry32(5);
  const [out, inp, rank] = [8, 16, 64];
  const draw = (n: number) => Array.from({ length: n }, () => random() * 2 - 1);
  const w = hostTensor('float32', [out, inp], draw(out * inp));
  const a = hostTensor('float32', [rank, inp], draw(rank * inp));
  const b = hostTensor('float32', [out, rank], draw(out * rank));
  const merged = mergeLoraWeight(w, a, b, 0.25).data;
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inp; i++) {
      let delta = 0;
      for (let r = 0; r < rank; r++) delta += b.data[o * rank + r] * 0.25 * a.data[r * inp + i];
      assert.equal(merged[o * inp + i], Math.fround(w.data[o * inp + i] + delta), `[${o}, ${i}]`);
    }
  }
});

test('mergeLoraWeight names the weight when the adapter shapes do not fit', () => {
  assert.throws(
    () =>
      mergeLoraWeight(
        hostTensor('float32', [2, 3]),
        hostTensor('float32', [1, 4]),
        hostTensor('float32', [2, 1]),
        1,
        'layers.0.attn.q.weight',
      ),
    (err: unknown) => err instanceof LoraMergeError && /layers\.0\.attn\.q\.weight/.test(err.message),
  );
});

test('withMergedLora changes only the adapted weights of a checkpoint, and leaves the base as it was', () => {
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
  const lora: LoraAdapters = {
    rank: 2,
    alpha: 4,
    weights: { 'lora.layers.1.attn.v.A': a, 'lora.layers.1.attn.v.B': b },
  };
  assert.deepEqual(loraMergedWeightNames(lora), ['layers.1.attn.v.weight']);
  const merged = withMergedLora(base, lora);
  assert.equal(merged.dir, base.dir);
  assert.deepEqual(merged.dims('layers.1.attn.v.weight'), [out, inp]);
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
  assert.deepEqual(base.weight('layers.1.attn.v.weight').data, w, 'the base reads unchanged');
  base.close();
});

test('an adapter without its B matrix is refused by name', () => {
  const base = openCheckpointFolder(join(fixturesDir, 'tiny-llama'));
  const merged = withMergedLora(base, {
    rank: 1,
    alpha: 1,
    weights: { 'lora.layers.0.attn.q.A': hostTensor('float32', [1, 64]) },
  });
  assert.throws(() => merged.weight('layers.0.attn.q.weight'), /lora\.layers\.0\.attn\.q lacks its B matrix/);
  base.close();
});
