// WAV (RIFF/WAVE) reader and writer of our own. Reads PCM 8-bit (unsigned), 16/24/32-bit signed integer,
// 32/64-bit IEEE float, plain or WAVE_FORMAT_EXTENSIBLE, skipping any other chunks (LIST, fact, bext, JUNK,
// odd-sized ones with their pad byte). Refuses compressed codecs (A-law, mu-law, ADPCM, ...) by name and
// refuses data cut short. Not handled: RF64/BW64 (> 4 GiB) and big-endian RIFX files.
import { DecodeFailedError, UnsupportedMediaTypeError } from '../errors.js';
import type { DecodedAudio } from './types.js';

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
const CODEC_NAMES: Record<number, string> = {
  2: 'Microsoft ADPCM',
  6: 'A-law',
  7: 'mu-law',
  17: 'IMA ADPCM',
  85: 'MPEG layer 3',
};
const SUPPORTED = ['wav (PCM 8/16/24/32-bit integer, 32/64-bit float)'];
/** A data chunk size that streaming writers (ffmpeg to a pipe, sox) leave when they cannot seek back. */
const UNKNOWN_SIZE = 0xffffffff;

interface WavFormat {
  sampleFormat: 'int' | 'float';
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
}

function fourcc(view: DataView, at: number): string {
  return String.fromCharCode(
    view.getUint8(at),
    view.getUint8(at + 1),
    view.getUint8(at + 2),
    view.getUint8(at + 3),
  );
}

function parseFmt(view: DataView, at: number, size: number): WavFormat {
  if (size < 16) throw new DecodeFailedError('wav', `fmt chunk of ${size} bytes is shorter than 16`);
  let tag = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const blockAlign = view.getUint16(at + 12, true);
  const bitsPerSample = view.getUint16(at + 14, true);
  if (tag === WAVE_FORMAT_EXTENSIBLE) {
    // The real codec is the first two bytes of the sub-format GUID (after cbSize, validBits, channelMask).
    if (size < 40)
      throw new DecodeFailedError('wav', `extensible fmt chunk of ${size} bytes is shorter than 40`);
    tag = view.getUint16(at + 24, true);
  }
  if (tag !== WAVE_FORMAT_PCM && tag !== WAVE_FORMAT_IEEE_FLOAT) {
    const name = CODEC_NAMES[tag] ?? `codec 0x${tag.toString(16).padStart(4, '0')}`;
    throw new UnsupportedMediaTypeError(`wav with ${name}`, SUPPORTED);
  }
  const sampleFormat = tag === WAVE_FORMAT_PCM ? 'int' : 'float';
  const validBits = sampleFormat === 'int' ? [8, 16, 24, 32] : [32, 64];
  if (!validBits.includes(bitsPerSample)) {
    throw new UnsupportedMediaTypeError(`wav with ${bitsPerSample}-bit ${sampleFormat} samples`, SUPPORTED);
  }
  if (channels < 1) throw new DecodeFailedError('wav', 'fmt chunk declares 0 channels');
  if (sampleRate < 1) throw new DecodeFailedError('wav', 'fmt chunk declares a sample rate of 0');
  if (blockAlign !== channels * (bitsPerSample / 8)) {
    throw new DecodeFailedError(
      'wav',
      `block align ${blockAlign} does not match ${channels} x ${bitsPerSample} bits`,
    );
  }
  return { sampleFormat, channels, sampleRate, bitsPerSample, blockAlign };
}

function sampleReader(view: DataView, fmt: WavFormat): (at: number) => number {
  const key = `${fmt.sampleFormat}${fmt.bitsPerSample}`;
  switch (key) {
    case 'int8':
      return (at) => (view.getUint8(at) - 128) / 128;
    case 'int16':
      return (at) => view.getInt16(at, true) / 32768;
    case 'int24':
      return (at) => ((view.getInt8(at + 2) << 16) | view.getUint16(at, true)) / 8388608;
    case 'int32':
      return (at) => view.getInt32(at, true) / 2147483648;
    case 'float32':
      return (at) => view.getFloat32(at, true);
    default:
      return (at) => view.getFloat64(at, true);
  }
}

/** Parses a whole WAV file held in memory. */
export function decodeWav(bytes: Uint8Array): DecodedAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || fourcc(view, 0) !== 'RIFF' || fourcc(view, 8) !== 'WAVE') {
    throw new DecodeFailedError('wav', 'missing RIFF/WAVE header');
  }
  let fmt: WavFormat | null = null;
  let data: { at: number; size: number } | null = null;
  for (let at = 12; at + 8 <= bytes.length && !data; ) {
    const id = fourcc(view, at);
    const declared = view.getUint32(at + 4, true);
    const body = at + 8;
    const remaining = bytes.length - body;
    if (id === 'data') {
      if (!fmt) throw new DecodeFailedError('wav', 'data chunk comes before the fmt chunk');
      const size = declared === UNKNOWN_SIZE ? remaining : declared;
      if (size > remaining) {
        throw new DecodeFailedError(
          'wav',
          `truncated: data chunk declares ${size} bytes but only ${remaining} follow`,
        );
      }
      data = { at: body, size };
      break;
    }
    if (declared > remaining) {
      throw new DecodeFailedError(
        'wav',
        `truncated: '${id}' chunk declares ${declared} bytes but only ${remaining} follow`,
      );
    }
    if (id === 'fmt ') fmt = parseFmt(view, body, declared);
    at = body + declared + (declared & 1); // chunks are word-aligned: odd sizes carry a pad byte
  }
  if (!fmt) throw new DecodeFailedError('wav', 'no fmt chunk');
  if (!data) throw new DecodeFailedError('wav', 'no data chunk');

  const frames = Math.floor(data.size / fmt.blockAlign);
  const bytesPerSample = fmt.bitsPerSample / 8;
  const read = sampleReader(view, fmt);
  const channelData = Array.from({ length: fmt.channels }, () => new Float32Array(frames));
  for (let frame = 0; frame < frames; frame++) {
    const base = data.at + frame * fmt.blockAlign;
    for (let c = 0; c < fmt.channels; c++) channelData[c][frame] = read(base + c * bytesPerSample);
  }
  return {
    sampleRate: fmt.sampleRate,
    channels: fmt.channels,
    durationSec: frames / fmt.sampleRate,
    channelData,
  };
}

export type WavSampleFormat = 'pcm16' | 'float32';

/**
 * Encodes samples as a canonical 44-byte-header WAV. One Float32Array is mono; several are interleaved as
 * channels. 'pcm16' scales by 32768 like the reader (so int16 samples round-trip exactly), clips and rounds (no dither: the stored copies feed feature extractors, where
 * 16-bit rounding noise sits ~96 dB down).
 */
export function encodeWav(
  samples: Float32Array | readonly Float32Array[],
  sampleRate: number,
  format: WavSampleFormat = 'pcm16',
): Uint8Array {
  const channels = samples instanceof Float32Array ? [samples] : [...samples];
  if (channels.length === 0) throw new RangeError('encodeWav needs at least one channel');
  const frames = channels[0].length;
  if (channels.some((c) => c.length !== frames)) throw new RangeError('encodeWav: channels differ in length');
  const bytesPerSample = format === 'pcm16' ? 2 : 4;
  const blockAlign = channels.length * bytesPerSample;
  const dataSize = frames * blockAlign;
  const out = new Uint8Array(44 + dataSize);
  const view = new DataView(out.buffer);
  const writeId = (at: number, id: string) => {
    for (let i = 0; i < 4; i++) view.setUint8(at + i, id.charCodeAt(i));
  };
  writeId(0, 'RIFF');
  view.setUint32(4, 36 + dataSize, true);
  writeId(8, 'WAVE');
  writeId(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, format === 'pcm16' ? WAVE_FORMAT_PCM : WAVE_FORMAT_IEEE_FLOAT, true);
  view.setUint16(22, channels.length, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * blockAlign, true);
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, bytesPerSample * 8, true);
  writeId(36, 'data');
  view.setUint32(40, dataSize, true);
  for (let frame = 0; frame < frames; frame++) {
    for (let c = 0; c < channels.length; c++) {
      const at = 44 + frame * blockAlign + c * bytesPerSample;
      const x = channels[c][frame];
      if (format === 'float32') view.setFloat32(at, x, true);
      else view.setInt16(at, Math.max(-32768, Math.min(32767, Math.round(x * 32768))), true);
    }
  }
  return out;
}
