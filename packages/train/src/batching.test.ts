import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collate, DataCursor, planEpoch } from './batching.js';
import { SeededRandom } from './random.js';
import { IGNORE } from './template.js';

const lengths = Array.from({ length: 23 }, (_, i) => 5 + ((i * 7) % 11));

test('an epoch covers every example once, batches group similar lengths, the seed fixes the order', () => {
  const plan = planEpoch(lengths, 4, new SeededRandom(3), 2);
  assert.deepEqual(
    plan.flat().sort((a, b) => a - b),
    lengths.map((_, i) => i),
  );
  // Within a batch, lengths are sorted longest first (they come from one sorted megabatch).
  for (const batch of plan) {
    const ls = batch.map((i) => lengths[i]);
    assert.deepEqual(
      ls,
      [...ls].sort((a, b) => b - a),
    );
  }
  assert.deepEqual(planEpoch(lengths, 4, new SeededRandom(3), 2), plan);
  assert.notDeepEqual(planEpoch(lengths, 4, new SeededRandom(4), 2), plan);
});

test('a cursor restored from its state continues with the same batches, across epochs', () => {
  const a = new DataCursor(lengths, 5, { seed: 11 });
  for (let i = 0; i < 7; i++) a.take();
  const b = new DataCursor(lengths, 5, a.state);
  for (let i = 0; i < 12; i++) assert.deepEqual(b.take(), a.take());
  assert.ok(a.state.epoch >= 3);
});

test('collate pads on the right: pad id, mask 0, labels -100; counts tokens and targets', () => {
  const batch = collate(
    [
      { id: 'a', media: 'm', inputIds: Int32Array.from([1, 2, 3]), labels: Int32Array.from([IGNORE, 2, 3]) },
      { id: 'b', media: 'm', inputIds: Int32Array.from([4]), labels: Int32Array.from([IGNORE]) },
    ],
    9,
  );
  assert.deepEqual([...batch.inputIds.data], [1, 2, 3, 4, 9, 9]);
  assert.deepEqual([...batch.attentionMask.data], [1, 1, 1, 1, 0, 0]);
  assert.deepEqual([...batch.labels.data], [IGNORE, 2, 3, IGNORE, IGNORE, IGNORE]);
  assert.equal(batch.tokens, 4);
  assert.equal(batch.targets, 2);
});

test('collate pads to a multiple of the given length; the padding is masked and unlabelled', () => {
  const batch = collate(
    [{ id: 'a', media: 'm', inputIds: Int32Array.from([1, 2, 3]), labels: Int32Array.from([IGNORE, 2, 3]) }],
    9,
    4,
  );
  assert.deepEqual(batch.inputIds.dims, [1, 4]);
  assert.deepEqual([...batch.inputIds.data], [1, 2, 3, 9]);
  assert.deepEqual([...batch.attentionMask.data], [1, 1, 1, 0]);
  assert.deepEqual([...batch.labels.data], [IGNORE, 2, 3, IGNORE]);
  assert.equal(batch.tokens, 3);
});

test('without length grouping (megabatch 1) batches keep the shuffled order and mix lengths', () => {
  const lengths = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 10 : 30));
  const plan = planEpoch(lengths, 8, new SeededRandom(5), 1);
  assert.deepEqual(
    plan.flat().sort((a, b) => a - b),
    lengths.map((_, i) => i),
  );
  // With grouping every batch of 8 from a 40-sample megabatch holds one length; without, most mix.
  const mixed = plan.filter((b) => new Set(b.map((i) => lengths[i])).size > 1).length;
  assert.ok(mixed >= 3, `${mixed} of ${plan.length} batches mix lengths`);
  const grouped = planEpoch(lengths, 8, new SeededRandom(5), 5);
  assert.ok(grouped.filter((b) => new Set(b.map((i) => lengths[i])).size > 1).length <= 1);
});
