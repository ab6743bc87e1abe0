import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  AudioTooLongError,
  DecodeFailedError,
  EmptyFileError,
  UnsupportedMediaTypeError,
} from '../errors.js';
import { decodeAudio } from './decode.js';
import { normalizeAudio } from './normalize.js';
import { sineWave, toneAmplitude } from './signals.js';
import { decodeWav, encodeWav } from './wav.js';

const testData = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../test-data/${name}`, import.meta.url)));

/** Amplitude of `frequency` in the middle half of a channel (away from encoder ramps and padding). */
function middleTone(x: Float32Array, frequency: number, rate: number): number {
  return toneAmplitude(x, frequency, rate, Math.floor(x.length / 4), Math.floor((3 * x.length) / 4));
}

describe('decodeAudio', () => {
  it('decodes FLAC with its rate, channels, length and per-channel content', async () => {
    const audio = await decodeAudio(testData('tone-44k1-stereo.flac'));
    assert.equal(audio.format, 'flac');
    assert.equal(audio.sampleRate, 44_100);
    assert.equal(audio.channels, 2);
    assert.equal(audio.channelData[0].length, 4410);
    assert.equal(audio.durationSec, 0.1);
    // FLAC is lossless: the left channel is sample by sample the 440 Hz sine sox wrote (within its dither).
    const expected = sineWave(440, 44_100, 0.1, 0.5);
    let worst = 0;
    for (let i = 0; i < 4410; i++) worst = Math.max(worst, Math.abs(audio.channelData[0][i] - expected[i]));
    assert.ok(worst < 2e-3, `worst sample error ${worst}`);
    assert.ok(Math.abs(middleTone(audio.channelData[1], 660, 44_100) - 0.5) < 0.01);
    assert.ok(middleTone(audio.channelData[1], 440, 44_100) < 0.01);
  });

  it('decodes MP3 (stereo, 44.1 kHz) to the tones that were encoded', async () => {
    const audio = await decodeAudio(testData('tone-44k1-stereo.mp3'));
    assert.equal(audio.format, 'mp3');
    assert.equal(audio.sampleRate, 44_100);
    assert.equal(audio.channels, 2);
    // Encoder delay/padding makes MP3 slightly longer than the 0.3 s source, never shorter.
    assert.ok(audio.durationSec >= 0.3 && audio.durationSec < 0.4, `duration ${audio.durationSec}`);
    assert.ok(Math.abs(middleTone(audio.channelData[0], 440, 44_100) - 0.5) < 0.05);
    assert.ok(Math.abs(middleTone(audio.channelData[1], 660, 44_100) - 0.5) < 0.05);
  });

  it('decodes Ogg/Opus to exactly the encoded length (pre-skip trimmed at both ends)', async () => {
    const audio = await decodeAudio(testData('tone-48k-mono.opus'));
    assert.equal(audio.format, 'ogg-opus');
    assert.equal(audio.sampleRate, 48_000);
    assert.equal(audio.channels, 1);
    assert.equal(audio.channelData[0].length, 24_000);
    assert.ok(Math.abs(middleTone(audio.channelData[0], 1000, 48_000) - 0.5) < 0.05);
  });

  it('decodes a third-party 24-bit WAVE_FORMAT_EXTENSIBLE file (sox)', async () => {
    const audio = await decodeAudio(testData('tone-48k-stereo-24bit.wav'));
    assert.equal(audio.sampleRate, 48_000);
    assert.equal(audio.channels, 2);
    assert.equal(audio.channelData[0].length, 960);
    assert.ok(Math.abs(middleTone(audio.channelData[1], 3000, 48_000) - 0.5) < 0.01);
  });

  it('refuses Ogg Vorbis by name, images, empty and unknown bytes', async () => {
    await assert.rejects(decodeAudio(testData('vorbis-22k-mono.ogg')), (e: unknown) => {
      assert.ok(e instanceof UnsupportedMediaTypeError);
      assert.equal(e.detected, 'ogg-vorbis');
      assert.match(e.message, /supported: wav, flac, mp3, ogg-opus/);
      return true;
    });
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    await assert.rejects(decodeAudio(png), /png is not a supported format \(expected audio\)/);
    await assert.rejects(decodeAudio(new Uint8Array(0)), EmptyFileError);
    await assert.rejects(decodeAudio(Buffer.from('hello, this is text')), UnsupportedMediaTypeError);
  });

  it('refuses a FLAC file cut before its first complete frame', async () => {
    const cut = testData('tone-44k1-stereo.flac').subarray(0, 1200);
    await assert.rejects(
      decodeAudio(cut),
      (e: unknown) => e instanceof DecodeFailedError && e.code === 'decode_failed',
    );
  });
});

describe('normalizeAudio', () => {
  it('turns 44.1 kHz stereo FLAC into 16 kHz mono holding both tones at half level', async () => {
    const out = await normalizeAudio(testData('tone-44k1-stereo.flac'));
    assert.equal(out.sampleRate, 16_000);
    assert.equal(out.pcm.length, 1600);
    assert.equal(out.originalSampleRate, 44_100);
    assert.equal(out.originalChannels, 2);
    assert.equal(out.originalFormat, 'flac');
    assert.ok(Math.abs(middleTone(out.pcm, 440, 16_000) - 0.25) < 0.01);
    assert.ok(Math.abs(middleTone(out.pcm, 660, 16_000) - 0.25) < 0.01);
    // The stored WAV is the same signal at 16-bit precision.
    const stored = decodeWav(out.wav);
    assert.equal(stored.sampleRate, 16_000);
    assert.equal(stored.channels, 1);
    for (let i = 0; i < out.pcm.length; i++)
      assert.ok(Math.abs(stored.channelData[0][i] - out.pcm[i]) <= 1 / 32768);
    assert.notEqual(out.sha256, out.originalSha256);
    assert.match(out.sha256, /^[0-9a-f]{64}$/);
  });

  it('normalises every supported format to 16 kHz mono', async () => {
    for (const name of ['tone-44k1-stereo.mp3', 'tone-48k-mono.opus', 'tone-48k-stereo-24bit.wav']) {
      const out = await normalizeAudio(testData(name));
      assert.equal(out.sampleRate, 16_000, name);
      assert.equal(out.pcm.length, Math.ceil(out.originalDurationSec * 16_000 - 1e-9), name);
    }
  });

  it('refuses audio longer than the limit', async () => {
    const wav = encodeWav(new Float32Array(16_000 * 3), 16_000);
    await assert.rejects(normalizeAudio(wav, { maxDurationSec: 2 }), (e: unknown) => {
      assert.ok(e instanceof AudioTooLongError);
      assert.equal(e.code, 'audio_too_long');
      return true;
    });
  });
});
