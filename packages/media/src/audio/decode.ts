// Audio bytes -> DecodedAudio, dispatched on the format recognised from the bytes. WAV goes through our own
// reader; FLAC, MP3 and Ogg/Opus through maintained WASM decoders (no native build). A fresh decoder is made
// per call: after the first use the WASM module is cached, so creating one costs well under a millisecond,
// and concurrent calls never share decoder state.
// Limits: the compressed decoders decode every complete frame and silently drop a cut-off tail (frames are
// self-contained), so a truncated MP3/Opus/FLAC file comes back shorter rather than refused; a file with no
// decodable frame is refused. WAV truncation is detected from the header.
import { FLACDecoder } from '@wasm-audio-decoders/flac';
import { MPEGDecoder } from 'mpg123-decoder';
import { OggOpusDecoder } from 'ogg-opus-decoder';
import { DecodeFailedError, EmptyFileError, UnsupportedMediaTypeError } from '../errors.js';
import { type MediaFormat, sniffFormat, supportedFormats } from '../sniff.js';
import { opusPlayableSamples } from './ogg-length.js';
import type { DecodedAudio } from './types.js';
import { decodeWav } from './wav.js';

interface WasmDecoded {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: { message: string; frameNumber: number }[];
}

const AUDIO_FORMATS = supportedFormats('audio');

function fromWasm(format: MediaFormat, result: WasmDecoded): DecodedAudio {
  if (result.samplesDecoded === 0 || result.channelData.length === 0) {
    const reason = result.errors[0]
      ? `${result.errors[0].message} (frame ${result.errors[0].frameNumber})`
      : 'no decodable audio frames';
    throw new DecodeFailedError(format, reason);
  }
  // The decoders may hand back views on their WASM heap: copy so the samples outlive the decoder.
  const channelData = result.channelData.map((c) => c.slice(0, result.samplesDecoded));
  return {
    sampleRate: result.sampleRate,
    channels: channelData.length,
    durationSec: result.samplesDecoded / result.sampleRate,
    channelData,
  };
}

async function decodeFlac(bytes: Uint8Array): Promise<DecodedAudio> {
  const decoder = new FLACDecoder();
  try {
    await decoder.ready;
    return fromWasm('flac', await decoder.decodeFile(bytes));
  } finally {
    decoder.free();
  }
}

async function decodeMp3(bytes: Uint8Array): Promise<DecodedAudio> {
  const decoder = new MPEGDecoder();
  try {
    await decoder.ready;
    return fromWasm('mp3', decoder.decode(bytes));
  } finally {
    decoder.free();
  }
}

async function decodeOpus(bytes: Uint8Array): Promise<DecodedAudio> {
  const decoder = new OggOpusDecoder();
  try {
    await decoder.ready;
    const decoded = fromWasm('ogg-opus', await decoder.decodeFile(bytes));
    const playable = opusPlayableSamples(bytes);
    const frames = decoded.channelData[0].length;
    if (playable === null || playable >= frames || decoded.sampleRate !== 48_000) return decoded;
    return {
      ...decoded,
      channelData: decoded.channelData.map((c) => c.slice(0, playable)),
      durationSec: playable / decoded.sampleRate,
    };
  } finally {
    decoder.free();
  }
}

export interface DecodedAudioWithFormat extends DecodedAudio {
  /** Format recognised from the bytes. */
  format: MediaFormat;
}

/** Decodes WAV, FLAC, MP3 or Ogg/Opus bytes to float PCM per channel at the file's own rate. */
export async function decodeAudio(bytes: Uint8Array): Promise<DecodedAudioWithFormat> {
  if (bytes.length === 0) throw new EmptyFileError('audio file');
  const info = sniffFormat(bytes);
  if (!info) throw new UnsupportedMediaTypeError(null, AUDIO_FORMATS);
  if (info.kind !== 'audio')
    throw new UnsupportedMediaTypeError(info.format, AUDIO_FORMATS, 'expected audio');
  if (!info.supported) throw new UnsupportedMediaTypeError(info.format, AUDIO_FORMATS);
  const decoded = await decodeByFormat(info.format, bytes);
  return { ...decoded, format: info.format };
}

async function decodeByFormat(format: MediaFormat, bytes: Uint8Array): Promise<DecodedAudio> {
  try {
    switch (format) {
      case 'wav':
        return decodeWav(bytes);
      case 'flac':
        return await decodeFlac(bytes);
      case 'mp3':
        return await decodeMp3(bytes);
      case 'ogg-opus':
        return await decodeOpus(bytes);
      default:
        throw new UnsupportedMediaTypeError(format, AUDIO_FORMATS);
    }
  } catch (error) {
    if (error instanceof DecodeFailedError || error instanceof UnsupportedMediaTypeError) throw error;
    throw new DecodeFailedError(format, (error as Error).message, { cause: error });
  }
}
