import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ropeInverseFrequencies } from './rope.js';

// Expected values were computed with PyTorch 1.13 running transformers' `_compute_llama3_parameters`
// code (float32) for Llama 3.1's settings: theta 5e5, head_dim 128, factor 8, low/high 1/4, 8192.
const llama31 = {
  headDim: 128,
  ropeTheta: 500000,
  ropeScaling: {
    type: 'llama3' as const,
    factor: 8,
    lowFreqFactor: 1,
    highFreqFactor: 4,
    originalMaxPositionEmbeddings: 8192,
  },
};
const torchLlama31: Array<[number, number]> = [
  [0, 1.0],
  [20, 0.016560440883040428],
  [40, 3.428102354519069e-5],
  [45, 1.2297638932068367e-5],
  [50, 4.411534519022098e-6],
  [63, 3.068925877869333e-7],
];

test('default rope: inv_freq[i] = theta^(-2i/d)', () => {
  const inv = ropeInverseFrequencies({ headDim: 16, ropeTheta: 10000, ropeScaling: { type: 'default' } });
  assert.equal(inv.length, 8);
  for (let i = 0; i < 8; i++) {
    const expected = 10000 ** (-(2 * i) / 16);
    assert.ok(Math.abs(inv[i] - expected) / expected < 1e-6, `inv_freq[${i}] ${inv[i]} vs ${expected}`);
  }
});

test('linear rope scaling divides every frequency by the factor', () => {
  const plain = ropeInverseFrequencies({ headDim: 8, ropeTheta: 10000, ropeScaling: { type: 'default' } });
  const scaled = ropeInverseFrequencies({
    headDim: 8,
    ropeTheta: 10000,
    ropeScaling: { type: 'linear', factor: 4 },
  });
  plain.forEach((f, i) => {
    assert.ok(Math.abs(scaled[i] - f / 4) < 1e-9 * f);
  });
});

test('llama3 rope scaling matches transformers (high kept, low divided, band interpolated)', () => {
  const inv = ropeInverseFrequencies(llama31);
  for (const [i, expected] of torchLlama31) {
    assert.ok(Math.abs(inv[i] - expected) / expected < 1e-6, `inv_freq[${i}] ${inv[i]} vs torch ${expected}`);
  }
});
