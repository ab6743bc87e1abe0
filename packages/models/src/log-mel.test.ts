// Whisper log-mel against Hugging Face's WhisperFeatureExtractor output (case_whisper), plus
// the padding, truncation and silence behaviours the fixture does not exercise.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSafetensors } from '@mmit/tensor';
import { fixture } from '../../../test/paths.js';
import { AudioFeatureError, loadWhisperFeatureConfig, stackLogMel, whisperLogMel } from './log-mel.js';

const config = loadWhisperFeatureConfig(fixture('tiny-whisper'));

describe('whisperLogMel', () => {
  it('matches HF input_features on case_whisper (max|a-b|/max|b| < 1e-4)', () => {
    const { tensors } = readSafetensors(fixture('case_whisper.safetensors'));
    const audio = tensors.audio.data as Float32Array;
    const expected = tensors.input_features.data as Float32Array;
    const got = whisperLogMel(audio, config);
    assert.deepEqual([1, got.nMels, got.nFrames], tensors.input_features.dims);
    let maxDiff = 0;
    let maxRef = 0;
    for (let i = 0; i < expected.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(got.data[i] - expected[i]));
      maxRef = Math.max(maxRef, Math.abs(expected[i]));
    }
    assert.ok(maxDiff / maxRef < 1e-4, `relative error ${maxDiff / maxRef}`);
    // 1.5 s at 16 kHz, hop 160: 150 frames hold audio (HF's attention_mask would mark the same).
    assert.equal(got.realFrames, 150);
  });

  it('maps silence to the floor value (log10(1e-10) + 4) / 4 everywhere', () => {
    const got = whisperLogMel(new Float32Array(8000), config);
    assert.ok(got.data.every((v) => Math.abs(v - -1.5) < 1e-6));
  });

  it('truncates audio longer than the window to its first chunk_length seconds', () => {
    const n = config.chunk_length * config.sampling_rate;
    const long = Float32Array.from({ length: n + 16000 }, (_, i) => Math.sin(i * 0.05) * (i < n ? 0.3 : 0.9));
    const cut = whisperLogMel(long.subarray(0, n), config);
    const got = whisperLogMel(long, config);
    assert.deepEqual(got.data, cut.data);
    assert.equal(got.realFrames, got.nFrames);
  });

  it('stacks clips into [B, n_mels, frames] and rejects mismatched clips', () => {
    const a = whisperLogMel(new Float32Array(1600), config);
    const stacked = stackLogMel([a, a]);
    assert.deepEqual(stacked.dims, [2, 80, 3000]);
    const small = whisperLogMel(new Float32Array(1600), { ...config, feature_size: 40 });
    assert.throws(() => stackLogMel([a, small]), AudioFeatureError);
  });
});
