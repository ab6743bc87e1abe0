// Typed errors for media that cannot be accepted. Each carries a stable `code` that services map to a
// problem+json `type` (the codes match the error table in @mmit/contracts), and a message that names the
// offending input and, where it helps, lists the valid options.

export type MediaErrorCode =
  | 'empty_file'
  | 'unsupported_media_type'
  | 'decode_failed'
  | 'image_too_large'
  | 'audio_too_long';

export class MediaError extends Error {
  readonly code: MediaErrorCode;
  constructor(code: MediaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MediaError';
    this.code = code;
  }
}

export class EmptyFileError extends MediaError {
  constructor(what = 'file') {
    super('empty_file', `${what} is empty (0 bytes)`);
    this.name = 'EmptyFileError';
  }
}

export class UnsupportedMediaTypeError extends MediaError {
  /** The format recognised from the bytes, when there was one (e.g. `bmp`), else null. */
  readonly detected: string | null;
  constructor(detected: string | null, supported: readonly string[], detail?: string) {
    const what = detected ? `${detected} is not a supported format` : 'the bytes match no known media format';
    super(
      'unsupported_media_type',
      `${what}${detail ? ` (${detail})` : ''}; supported: ${supported.join(', ')}`,
    );
    this.name = 'UnsupportedMediaTypeError';
    this.detected = detected;
  }
}

export class DecodeFailedError extends MediaError {
  constructor(format: string, reason: string, options?: { cause?: unknown }) {
    super('decode_failed', `could not decode ${format}: ${reason}`, options);
    this.name = 'DecodeFailedError';
  }
}

export class ImageTooLargeError extends MediaError {
  readonly width: number;
  readonly height: number;
  readonly maxInputPixels: number;
  constructor(width: number, height: number, maxInputPixels: number) {
    super(
      'image_too_large',
      `image of ${width} x ${height} px (${width * height} pixels) exceeds the limit of ${maxInputPixels} pixels`,
    );
    this.name = 'ImageTooLargeError';
    this.width = width;
    this.height = height;
    this.maxInputPixels = maxInputPixels;
  }
}

export class AudioTooLongError extends MediaError {
  readonly durationSec: number;
  readonly maxDurationSec: number;
  constructor(durationSec: number, maxDurationSec: number) {
    super('audio_too_long', `audio of ${durationSec.toFixed(1)} s exceeds the limit of ${maxDurationSec} s`);
    this.name = 'AudioTooLongError';
    this.durationSec = durationSec;
    this.maxDurationSec = maxDurationSec;
  }
}
