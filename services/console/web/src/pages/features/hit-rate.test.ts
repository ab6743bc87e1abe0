import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheHitRate, isNoOp } from './hit-rate.js';

test('hit rate is hits over everything the job needed; undefined when it needed nothing', () => {
  assert.equal(cacheHitRate({ hits: 3, computed: 1, failed: 0 }), 0.75);
  assert.equal(cacheHitRate({ hits: 0, computed: 4, failed: 1 }), 0);
  assert.equal(cacheHitRate({ hits: 0, computed: 0, failed: 0 }), undefined);
});

test('a job that computed and failed on nothing is a no-op, whatever it found in the cache', () => {
  assert.equal(isNoOp({ computed: 0, failed: 0 }), true);
  assert.equal(isNoOp({ computed: 1, failed: 0 }), false);
  assert.equal(isNoOp({ computed: 0, failed: 2 }), false, 'failures are worth seeing');
});
