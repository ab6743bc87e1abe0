import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addDims, broadcastShapes, dimsEqual, divDims, mulDims, normalizeDim, subDim } from './dims.js';

test('symbolic products are canonical and cancel', () => {
  assert.equal(mulDims('seq', 'batch'), 'batch*seq');
  assert.ok(dimsEqual('seq*batch', 'batch*seq'));
  assert.equal(mulDims(mulDims('batch', 4), 3), '12*batch');
  assert.equal(divDims('12*batch*seq', mulDims(3, 'seq')), '4*batch');
  assert.equal(divDims('batch*seq', 'heads'), null);
  assert.equal(divDims(12, 5), null);
  assert.equal(normalizeDim('1*n'), 'n');
});

test('sums and differences stay opaque atoms', () => {
  assert.equal(addDims('past', 'seq'), 'past+seq');
  assert.equal(addDims(2, 3), 5);
  assert.equal(addDims('a*b', 1), '(a*b)+1');
  assert.equal(subDim('seq', 1), 'seq-1');
  assert.equal(mulDims(addDims('past', 'seq'), 2), '2*(past+seq)');
  assert.equal(divDims('2*(past+seq)', 2), 'past+seq');
  assert.ok(dimsEqual('(past+seq)', 'past+seq'));
});

test('broadcasting follows numpy and refuses mismatched symbols', () => {
  assert.deepEqual(broadcastShapes([2, 1, 4], [3, 1]), [2, 3, 4]);
  assert.deepEqual(broadcastShapes(['b', 1], [1, 'n']), ['b', 'n']);
  assert.deepEqual(broadcastShapes(['b', 8], [4, 8]), [4, 8]);
  assert.equal(broadcastShapes([2, 3], [4, 3]), null);
  assert.equal(broadcastShapes(['seq'], ['past+seq']), null);
});
