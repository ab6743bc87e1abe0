// The generator's numbers are part of every seeded result in mmit (golden files, checkpoints that
// resume mid-epoch): these pin its sequence and the meaning of its state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32, SeededRandom } from './index.js';

test('seed 1 gives the numbers every seeded result in mmit was made with', () => {
  // Changing the generator would silently change sample order, initial weights and the samples.
  const next = mulberry32(1);
  const first = [next(), next(), next()].map((x) => x * 2 ** 32);
  assert.deepEqual(first, [2693262067, 11749833, 2265367787]);
});

test('a restored state continues the same sequence', () => {
  const a = new SeededRandom(42);
  for (let i = 0; i < 17; i++) a.next();
  const b = new SeededRandom(0).restore(a.state);
  assert.deepEqual(
    Array.from({ length: 5 }, () => b.next()),
    Array.from({ length: 5 }, () => a.next()),
  );
});

test('shuffle and sample permute without losing or repeating; pick refuses an empty list', () => {
  const r = new SeededRandom(7);
  const items = Array.from({ length: 50 }, (_, i) => i);
  const shuffled = r.shuffle(items);
  assert.notDeepEqual(shuffled, items);
  assert.deepEqual(
    [...shuffled].sort((x, y) => x - y),
    items,
  );
  const sample = r.sample(items, 10);
  assert.equal(new Set(sample).size, 10);
  assert.equal(r.sample(items.slice(0, 3), 10).length, 3);
  assert.throws(() => r.pick([]), RangeError);
});
