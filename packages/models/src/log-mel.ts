// Whisper's log-mel front end, reproducing Hugging Face's WhisperFeatureExtractor:
// pad/truncate 16 kHz mono audio to the chunk (30 s), centred STFT (reflect padding,
// periodic Hann window), power spectrum, Slaney mel filters, log10, clamp to (max - 8),
// then (x + 4) / 4. Output [n_mels, nb_max_frames] (80 x 3000 for every Whisper release).
// Limits: one clip per call (batch with `stackLogMel`); `dither` is a training-time
// augmentation and is ignored (every released Whisper config sets it to 0); resampling
// to the model's rate is the caller's job (packages/media).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostTensor } from '@mmit/tensor';
import { z } from 'zod';

/** The fields of `preprocessor_config.json` that the feature extractor reads (HF defaults). */
export const WhisperFeatureConfigSchema = z.object({
  feature_size: z.number().int().positive().default(80),
  sampling_rate: z.number().int().positive().default(16000),
  hop_length: z.number().int().positive().default(160),
  chunk_length: z.number().positive().default(30),
  n_fft: z.number().int().positive().default(400),
  padding_value: z.number().default(0),
});
export type WhisperFeatureConfig = z.infer<typeof WhisperFeatureConfigSchema>;

export class AudioFeatureError extends Error {
  override name = 'AudioFeatureError';
}

/** Reads and validates `<dir>/preprocessor_config.json`. */
export function loadWhisperFeatureConfig(dir: string): WhisperFeatureConfig {
  const path = join(dir, 'preprocessor_config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AudioFeatureError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const parsed = WhisperFeatureConfigSchema.safeParse(raw);
  if (!parsed.success) throw new AudioFeatureError(`invalid ${path}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** One clip's features: `data` is row-major [nMels, nFrames]; `realFrames` counts frames that hold audio. */
export interface LogMel {
  data: Float32Array;
  nMels: number;
  nFrames: number;
  /** ceil(samples / hop_length), capped at nFrames: what HF's attention_mask would mark (the encoder halves it). */
  realFrames: number;
}

/** Window length in samples and frames, derived as HF does (n_samples = chunk_length * sampling_rate). */
export function windowSizes(config: WhisperFeatureConfig): { nSamples: number; nFrames: number } {
  const nSamples = Math.round(config.chunk_length * config.sampling_rate);
  return { nSamples, nFrames: Math.floor(nSamples / config.hop_length) };
}

// --- mel filter bank (audio_utils.mel_filter_bank, norm="slaney", mel_scale="slaney") ---

const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = 15;
const LOG_STEP = Math.log(6.4) / 27;

function hzToMel(hz: number): number {
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : (3 * hz) / 200;
}

function melToHz(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : (200 * mel) / 3;
}

/**
 * Triangular Slaney-normalised filters, row-major [nMels, nFft/2 + 1], from 0 Hz to Nyquist.
 * Kept in float64: the reference builds them in float64 too.
 */
export function melFilterBank(nMels: number, nFft: number, samplingRate: number): Float64Array {
  const nBins = Math.floor(nFft / 2) + 1;
  const melMax = hzToMel(samplingRate / 2);
  const edges = Array.from({ length: nMels + 2 }, (_, i) => melToHz((melMax * i) / (nMels + 1)));
  const binHz = Array.from({ length: nBins }, (_, k) => ((samplingRate / 2) * k) / (nBins - 1));
  const filters = new Float64Array(nMels * nBins);
  for (let m = 0; m < nMels; m++) {
    const [lo, mid, hi] = [edges[m], edges[m + 1], edges[m + 2]];
    const norm = 2 / (hi - lo);
    for (let k = 0; k < nBins; k++) {
      const down = (binHz[k] - lo) / (mid - lo);
      const up = (hi - binHz[k]) / (hi - mid);
      filters[m * nBins + k] = Math.max(0, Math.min(down, up)) * norm;
    }
  }
  return filters;
}

// --- power spectrum ---

/**
 * A mixed-radix FFT for one size (n_fft = 400 = 2^4 * 5^2 for Whisper): recursive
 * decimation in time over the smallest prime factor, so any size works and sizes with
 * small factors cost O(n * sum of factors) instead of the O(n^2) of a plain DFT.
 */
function makeFft(size: number): (re: Float64Array, im: Float64Array) => void {
  const cos = Float64Array.from({ length: size }, (_, i) => Math.cos((2 * Math.PI * i) / size));
  const sin = Float64Array.from({ length: size }, (_, i) => -Math.sin((2 * Math.PI * i) / size));
  const outRe = new Float64Array(size);
  const outIm = new Float64Array(size);
  const smallestFactor = (n: number) => {
    for (let p = 2; p * p <= n; p++) if (n % p === 0) return p;
    return n;
  };
  // Writes the n-point DFT of in[offset + j*stride] (j < n) to out[at .. at + n).
  const rec = (
    inRe: Float64Array,
    inIm: Float64Array,
    offset: number,
    stride: number,
    n: number,
    at: number,
  ) => {
    if (n === 1) {
      outRe[at] = inRe[offset];
      outIm[at] = inIm[offset];
      return;
    }
    const p = smallestFactor(n);
    const m = n / p;
    for (let q = 0; q < p; q++) rec(inRe, inIm, offset + q * stride, stride * p, m, at + q * m);
    // Butterfly: X[k + s*m] = sum_q W_n^(q*(k + s*m)) * Y_q[k], with W_n^j = W_size^(j * size/n).
    const twStep = size / n;
    const tRe = new Float64Array(p);
    const tIm = new Float64Array(p);
    for (let k = 0; k < m; k++) {
      for (let q = 0; q < p; q++) {
        tRe[q] = outRe[at + q * m + k];
        tIm[q] = outIm[at + q * m + k];
      }
      for (let s = 0; s < p; s++) {
        const j = k + s * m;
        let accRe = 0;
        let accIm = 0;
        for (let q = 0; q < p; q++) {
          const t = ((q * j) % n) * twStep;
          accRe += tRe[q] * cos[t] - tIm[q] * sin[t];
          accIm += tRe[q] * sin[t] + tIm[q] * cos[t];
        }
        outRe[at + j] = accRe;
        outIm[at + j] = accIm;
      }
    }
  };
  return (re, im) => {
    rec(re, im, 0, 1, size, 0);
    re.set(outRe);
    im.set(outIm);
  };
}

/** Power spectra [nFrames, nFft/2 + 1]; silent frames (most of a short clip's window) are skipped. */
function powerSpectrogram(signal: Float64Array, nFft: number, hop: number, nFrames: number): Float64Array {
  const nBins = Math.floor(nFft / 2) + 1;
  const half = Math.floor(nFft / 2);
  // Periodic Hann, as torch.hann_window's default.
  const window = Float64Array.from(
    { length: nFft },
    (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / nFft),
  );
  const fft = makeFft(nFft);
  const power = new Float64Array(nFrames * nBins); // (T, F)
  const re = new Float64Array(nFft);
  const im = new Float64Array(nFft);
  const n = signal.length;
  // Centre padding reflects around both ends: index -i maps to i, n-1+i maps to n-1-i.
  const at = (i: number) => signal[i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i];
  for (let t = 0; t < nFrames; t++) {
    const start = t * hop - half;
    let energy = 0;
    for (let i = 0; i < nFft; i++) {
      re[i] = at(start + i) * window[i];
      im[i] = 0;
      energy += re[i] * re[i];
    }
    if (energy === 0) continue; // its spectrum is all zeros, which `power` already holds
    fft(re, im);
    for (let k = 0; k < nBins; k++) power[t * nBins + k] = re[k] * re[k] + im[k] * im[k];
  }
  return power;
}

/** The log-mel of one clip, padded or truncated to the config's window. */
export function whisperLogMel(audio: Float32Array, config: WhisperFeatureConfig): LogMel {
  const { nSamples, nFrames } = windowSizes(config);
  const nMels = config.feature_size;
  const nBins = Math.floor(config.n_fft / 2) + 1;
  const realSamples = Math.min(audio.length, nSamples);
  const signal = new Float64Array(nSamples).fill(config.padding_value);
  for (let i = 0; i < realSamples; i++) signal[i] = audio[i];

  // HF computes nFrames + 1 STFT frames and drops the last one; we never compute it.
  const power = powerSpectrogram(signal, config.n_fft, config.hop_length, nFrames);
  const filters = melFilterBank(nMels, config.n_fft, config.sampling_rate);
  // Each triangle covers a few bins only; summing over its support alone is ~20x less work.
  const support = Array.from({ length: nMels }, (_, m) =>
    nonZeroRange(filters.subarray(m * nBins, (m + 1) * nBins)),
  );
  const logSpec = new Float64Array(nMels * nFrames); // (M, T)
  let max = Number.NEGATIVE_INFINITY;
  for (let m = 0; m < nMels; m++) {
    const row = m * nBins;
    const [k0, k1] = support[m];
    for (let t = 0; t < nFrames; t++) {
      let acc = 0;
      const col = t * nBins;
      for (let k = k0; k < k1; k++) acc += filters[row + k] * power[col + k];
      const v = Math.log10(Math.max(acc, 1e-10));
      logSpec[m * nFrames + t] = v;
      if (v > max) max = v;
    }
  }
  const data = new Float32Array(nMels * nFrames);
  for (let i = 0; i < data.length; i++) data[i] = (Math.max(logSpec[i], max - 8) + 4) / 4;
  const realFrames = Math.min(nFrames, Math.ceil(realSamples / config.hop_length));
  return { data, nMels, nFrames, realFrames };
}

/** [first, last + 1) of the non-zero entries ([0, 0) when all are zero). */
function nonZeroRange(row: Float64Array): [number, number] {
  let first = 0;
  while (first < row.length && row[first] === 0) first++;
  let end = row.length;
  while (end > first && row[end - 1] === 0) end--;
  return [first, end];
}

/** Stacks clips of the same config into one float32 [B, nMels, nFrames] tensor (the encoder's input_features). */
export function stackLogMel(clips: LogMel[]): HostTensor<'float32'> {
  if (clips.length === 0) throw new AudioFeatureError('stackLogMel: no clips given');
  const { nMels, nFrames } = clips[0];
  const size = nMels * nFrames;
  const data = new Float32Array(clips.length * size);
  clips.forEach((clip, i) => {
    if (clip.nMels !== nMels || clip.nFrames !== nFrames) {
      throw new AudioFeatureError(
        `stackLogMel: clip ${i} is [${clip.nMels}, ${clip.nFrames}], clip 0 is [${nMels}, ${nFrames}]`,
      );
    }
    data.set(clip.data, i * size);
  });
  return { dtype: 'float32', dims: [clips.length, nMels, nFrames], data };
}
