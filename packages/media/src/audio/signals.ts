// Small signal helpers shared by the synthetic corpus generator and the tests: tones, and measuring how much
// of a frequency a signal holds.

/** `seconds` of amplitude * sin(2 pi f t + phase) at `sampleRate`. */
export function sineWave(
  frequency: number,
  sampleRate: number,
  seconds: number,
  amplitude = 0.5,
  phase = 0,
): Float32Array {
  const length = Math.round(seconds * sampleRate);
  const out = new Float32Array(length);
  const step = (2 * Math.PI * frequency) / sampleRate;
  for (let i = 0; i < length; i++) out[i] = amplitude * Math.sin(step * i + phase);
  return out;
}

export function rms(x: Float32Array, start = 0, end = x.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += x[i] * x[i];
  return Math.sqrt(sum / Math.max(1, end - start));
}

/**
 * Amplitude of the `frequency` component of x[start, end) (Goertzel: one DFT bin at an arbitrary frequency).
 * For a pure tone at exactly that frequency over many periods it returns the tone's amplitude.
 */
export function toneAmplitude(
  x: Float32Array,
  frequency: number,
  sampleRate: number,
  start = 0,
  end = x.length,
): number {
  const w = (2 * Math.PI * frequency) / sampleRate;
  let re = 0;
  let im = 0;
  for (let i = start; i < end; i++) {
    re += x[i] * Math.cos(w * i);
    im -= x[i] * Math.sin(w * i);
  }
  return (2 * Math.hypot(re, im)) / (end - start);
}

export function decibels(ratio: number): number {
  return 20 * Math.log10(ratio);
}
