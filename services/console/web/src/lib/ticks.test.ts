import assert from 'node:assert/strict';
import { test } from 'node:test';
import { niceTicks } from './ticks.js';

test('ticks land on 1, 2 or 5 times a power of ten and cover the range', () => {
  assert.deepEqual(niceTicks(0, 100, 5), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(
    niceTicks(1, 40, 6),
    [5, 10, 15, 20, 25, 30, 35, 40],
    'step 5 gives 8 ticks, nearer 6 than step 10',
  );
  assert.deepEqual(niceTicks(0.00012, 0.00098, 4), [0.0002, 0.0004, 0.0006, 0.0008]);
  assert.deepEqual(niceTicks(2.31, 2.38, 4), [2.32, 2.34, 2.36, 2.38]);
  assert.deepEqual(niceTicks(3, 3), [3], 'an empty range is its one value');
});
