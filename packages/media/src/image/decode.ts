// The one guarded way untrusted image bytes become pixels: recognise the format from the bytes, refuse
// formats we cannot decode, read only the header to refuse decompression bombs, then decode once with EXIF
// orientation applied, converted to 8-bit sRGB through the embedded ICC profile (CMYK, greyscale and 16-bit
// inputs included) and bounded in size (never enlarged; JPEG shrink-on-load does large reductions cheaply).
// Animated GIF/WebP and multi-page TIFF give their first frame.
import sharp, { type FailOnOptions } from 'sharp';
import {
  DecodeFailedError,
  EmptyFileError,
  ImageTooLargeError,
  UnsupportedMediaTypeError,
} from '../errors.js';
import { type MediaFormat, sniffFormat, supportedFormats } from '../sniff.js';

/** 100 megapixels: above any camera photo people caption, far below what exhausts memory at 8-bit RGB. */
export const DEFAULT_MAX_INPUT_PIXELS = 100_000_000;

export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

export interface DecodeLimits {
  /** Longer side of the decoded pixels. */
  maxSide: number;
  /** Inputs with more pixels (width x height from the header) are refused. Default 100,000,000. */
  maxInputPixels?: number;
  /**
   * How strict decoding is (sharp's levels). Default 'error': truncated or corrupt pixel data is refused,
   * while benign libjpeg/libpng warnings (extraneous bytes, odd markers) that many real photos carry are not.
   */
  failOn?: Exclude<FailOnOptions, 'none'>;
}

export interface DecodedImage {
  /** Format recognised from the bytes. */
  format: MediaFormat;
  /** Input size as displayed, i.e. after EXIF orientation. */
  originalWidth: number;
  originalHeight: number;
  pixels: RawImage;
}

const IMAGE_FORMATS = supportedFormats('image');

function checkImageFormat(bytes: Uint8Array): MediaFormat {
  if (bytes.length === 0) throw new EmptyFileError('image');
  const info = sniffFormat(bytes);
  if (!info) throw new UnsupportedMediaTypeError(null, IMAGE_FORMATS);
  if (info.kind !== 'image')
    throw new UnsupportedMediaTypeError(info.format, IMAGE_FORMATS, 'expected an image');
  if (!info.supported) throw new UnsupportedMediaTypeError(info.format, IMAGE_FORMATS);
  return info.format;
}

/** Header-only read: sharp parses the container and image header, no pixel data. */
async function readHeader(bytes: Uint8Array, format: MediaFormat) {
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    if (!meta.width || !meta.height) throw new Error('header has no dimensions');
    return {
      pixels: meta.width * meta.height,
      width: meta.width,
      height: meta.height,
      displayWidth: meta.autoOrient?.width ?? meta.width,
      displayHeight: meta.autoOrient?.height ?? meta.height,
    };
  } catch (error) {
    throw new DecodeFailedError(format, (error as Error).message, { cause: error });
  }
}

/** Throws EmptyFileError, UnsupportedMediaTypeError, ImageTooLargeError or DecodeFailedError. */
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits): Promise<DecodedImage> {
  const maxInputPixels = limits.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  const format = checkImageFormat(bytes);
  const header = await readHeader(bytes, format);
  if (header.pixels > maxInputPixels)
    throw new ImageTooLargeError(header.width, header.height, maxInputPixels);
  try {
    const { data, info } = await sharp(bytes, {
      failOn: limits.failOn ?? 'error',
      limitInputPixels: maxInputPixels,
      autoOrient: true,
    })
      .resize({ width: limits.maxSide, height: limits.maxSide, fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      format,
      originalWidth: header.displayWidth,
      originalHeight: header.displayHeight,
      pixels: { data, width: info.width, height: info.height, channels: info.channels },
    };
  } catch (error) {
    throw new DecodeFailedError(format, (error as Error).message, { cause: error });
  }
}
