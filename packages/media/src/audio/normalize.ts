// Audio normalisation: any supported file -> 16 kHz mono float PCM (what speech/audio encoders such as
// Whisper take) plus a 16-bit WAV of it to store. Source facts (format, rate, channels, duration) are kept
// for the item record. Long inputs are refused before resampling so one upload cannot pin a worker for
// minutes; the check follows decoding, so input size limits at the HTTP edge bound decode memory.
import { AudioTooLongError } from '../errors.js';
import { sha256Hex } from '../hash.js';
import type { MediaFormat } from '../sniff.js';
import { decodeAudio } from './decode.js';
import { downmix, type ResamplerDesign, resample } from './resample.js';
import { encodeWav } from './wav.js';

export const TARGET_SAMPLE_RATE = 16_000;
/** One hour: more than any captioned clip corpus (AudioCaps/Clotho clips are 10-30 s). */
export const DEFAULT_MAX_DURATION_SEC = 3600;

export interface NormalizeAudioOptions {
  /** Output rate in Hz. Default 16000. */
  sampleRate?: number;
  maxDurationSec?: number;
  resampler?: ResamplerDesign;
}

export interface NormalizedAudio {
  /** Mono samples at `sampleRate`, in [-1, 1] (not clipped: a downmix or filter overshoot can exceed it slightly). */
  pcm: Float32Array;
  sampleRate: number;
  durationSec: number;
  /** 16-bit PCM mono WAV of `pcm`: the stored copy. */
  wav: Uint8Array;
  sha256: string;
  originalSha256: string;
  originalFormat: MediaFormat;
  originalSampleRate: number;
  originalChannels: number;
  originalDurationSec: number;
}

export async function normalizeAudio(
  bytes: Uint8Array,
  options: NormalizeAudioOptions = {},
): Promise<NormalizedAudio> {
  const sampleRate = options.sampleRate ?? TARGET_SAMPLE_RATE;
  const maxDurationSec = options.maxDurationSec ?? DEFAULT_MAX_DURATION_SEC;
  const decoded = await decodeAudio(bytes);
  if (decoded.durationSec > maxDurationSec) throw new AudioTooLongError(decoded.durationSec, maxDurationSec);
  const pcm = resample(downmix(decoded.channelData), decoded.sampleRate, sampleRate, options.resampler);
  const wav = encodeWav(pcm, sampleRate, 'pcm16');
  return {
    pcm,
    sampleRate,
    durationSec: pcm.length / sampleRate,
    wav,
    sha256: sha256Hex(wav),
    originalSha256: sha256Hex(bytes),
    originalFormat: decoded.format,
    originalSampleRate: decoded.sampleRate,
    originalChannels: decoded.channels,
    originalDurationSec: decoded.durationSec,
  };
}
