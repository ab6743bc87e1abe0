import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { downmix, resample } from './resample.js';
import { decibels, rms, sineWave, toneAmplitude } from './signals.js';

// Skip the first and last 20 ms, where the filter runs into the zero padding around the signal.
const EDGE_SEC = 0.02;

function interior(x: Float32Array, rate: number): [number, number] {
  const edge = Math.round(EDGE_SEC * rate);
  return [edge, x.length - edge];
}

describe('resample', () => {
  it('produces ceil(length * out / in) samples', () => {
    assert.equal(resample(new Float32Array(44_100), 44_100, 16_000).length, 16_000);
    assert.equal(resample(new Float32Array(48_000), 48_000, 16_000).length, 16_000);
    assert.equal(resample(new Float32Array(1000), 44_100, 16_000).length, Math.ceil((1000 * 160) / 441));
    assert.equal(resample(new Float32Array(8000), 8000, 16_000).length, 16_000);
    assert.equal(resample(new Float32Array(7), 22_050, 16_000).length, 6);
  });

  for (const inRate of [44_100, 48_000, 22_050]) {
    for (const frequency of [440, 1000, 5000, 7000]) {
      it(`passes a ${frequency} Hz tone from ${inRate} Hz with small error`, () => {
        const input = sineWave(frequency, inRate, 0.5, 0.5);
        const output = resample(input, inRate, 16_000);
        const expected = sineWave(frequency, 16_000, 0.5, 0.5);
        const [start, end] = interior(output, 16_000);
        let worst = 0;
        for (let i = start; i < end; i++) worst = Math.max(worst, Math.abs(output[i] - expected[i]));
        assert.ok(worst < 2e-3, `max error ${worst} at ${frequency} Hz`);
      });
    }
  }

  for (const inRate of [44_100, 48_000]) {
    for (const frequency of [8500, 10_000, 15_000, 20_000]) {
      it(`attenuates a ${frequency} Hz tone from ${inRate} Hz by more than 60 dB`, () => {
        const input = sineWave(frequency, inRate, 0.5, 0.5);
        const output = resample(input, inRate, 16_000);
        const [start, end] = interior(output, 16_000);
        const gain = decibels(rms(output, start, end) / rms(input));
        assert.ok(gain < -60, `gain ${gain.toFixed(1)} dB at ${frequency} Hz`);
      });
    }
  }

  it('keeps the tone where it was (no time shift)', () => {
    // A single click at a known time must peak at the corresponding output time.
    const input = new Float32Array(48_000);
    input[24_000] = 1;
    const output = resample(input, 48_000, 16_000);
    let peak = 0;
    for (let i = 1; i < output.length; i++) if (output[i] > output[peak]) peak = i;
    assert.equal(peak, 8000);
  });

  it('upsamples 8 kHz without imaging above the old Nyquist', () => {
    const input = sineWave(1000, 8000, 0.5, 0.5);
    const output = resample(input, 8000, 16_000);
    const [start, end] = interior(output, 16_000);
    assert.ok(Math.abs(toneAmplitude(output, 1000, 16_000, start, end) - 0.5) < 1e-3);
    // Zero-stuffing without a filter would leave an image of the tone at 8000 - 1000 = 7000 Hz.
    assert.ok(toneAmplitude(output, 7000, 16_000, start, end) < 0.5e-3);
  });

  it('keeps a constant signal constant (unit DC gain in every phase)', () => {
    const output = resample(new Float32Array(44_100).fill(0.25), 44_100, 16_000);
    const [start, end] = interior(output, 16_000);
    for (let i = start; i < end; i++)
      assert.ok(Math.abs(output[i] - 0.25) < 1e-5, `sample ${i}: ${output[i]}`);
  });

  it('returns a copy when the rates match and rejects nonsense rates', () => {
    const input = sineWave(100, 16_000, 0.01);
    const output = resample(input, 16_000, 16_000);
    assert.deepEqual(output, input);
    assert.notEqual(output, input);
    assert.throws(() => resample(input, 0, 16_000), RangeError);
    assert.throws(() => resample(input, 44_100.5, 16_000), RangeError);
  });
});

describe('downmix', () => {
  it('averages channels', () => {
    const mono = downmix([Float32Array.from([1, 0.5, -1]), Float32Array.from([0, 0.5, 1])]);
    assert.deepEqual([...mono], [0.5, 0.5, 0]);
  });
});
