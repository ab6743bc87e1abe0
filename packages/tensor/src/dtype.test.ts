import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bfloat16BitsToFloat32,
  castTensor,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  hostTensor,
  toNumbers,
} from './dtype.js';

test('float16 bit patterns round-trip known values', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff], // largest finite
    [2 ** -24, 0x0001], // smallest subnormal
    [0.333251953125, 0x3555],
  ];
  for (const [value, bits] of cases) {
    assert.equal(float32ToFloat16Bits(value), bits, `encode ${value}`);
    assert.equal(float16BitsToFloat32(bits), value, `decode 0x${bits.toString(16)}`);
  }
  assert.equal(float32ToFloat16Bits(70000), 0x7c00, 'overflow becomes +inf');
  assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(Number.NaN))));
});

test('float16 rounds to nearest even', () => {
  // 1 + 2^-11 lies exactly between 1 and 1 + 2^-10: ties go to the even mantissa (1).
  assert.equal(float32ToFloat16Bits(1 + 2 ** -11), 0x3c00);
  // 1 + 3 * 2^-11 lies between 1 + 2^-10 (odd) and 1 + 2^-9 (even): rounds up.
  assert.equal(float32ToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02);
});

test('bfloat16 keeps the top half of float32 with rounding', () => {
  assert.equal(float32ToBfloat16Bits(1), 0x3f80);
  assert.equal(bfloat16BitsToFloat32(0x3f80), 1);
  assert.equal(bfloat16BitsToFloat32(float32ToBfloat16Bits(3.140625)), 3.140625);
});

test('hostTensor checks the element count and castTensor converts', () => {
  assert.throws(() => hostTensor('float32', [2, 2], [1, 2, 3]), /needs 4 values, got 3/);
  const t = hostTensor('float32', [3], [0.5, -1.25, 3]);
  const h = castTensor(t, 'float16');
  assert.equal(h.dtype, 'float16');
  assert.deepEqual(Array.from(toNumbers(h)), [0.5, -1.25, 3]);
  const i = castTensor(t, 'int64');
  assert.deepEqual(Array.from(i.data as BigInt64Array), [0n, -1n, 3n]);
});
