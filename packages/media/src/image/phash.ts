// 64-bit perceptual hash (pHash, the DCT variant that Python's `imagehash.phash` computes): a 32x32 greyscale
// copy, its 2-D DCT-II, the 8x8 lowest frequencies compared against their median. Small edits (re-encoding,
// resizing, mild colour shifts) flip few bits; different pictures differ in about half of them.
// The hash is taken from pixels already decoded (normalizeImage passes its resized output), so hashing never
// costs a second full decode.
import sharp from 'sharp';
import { type DecodeLimits, decodeImage, type RawImage } from './decode.js';

export const PHASH_SIDE = 32;
const LOW = 8;

/**
 * Default Hamming distance (out of 64 bits) at or below which two images count as near duplicates. Measured
 * on smooth photo-like images: a resized, JPEG-recompressed or 10%-brightened copy lands at 0-10, different
 * images at 20 or more. Sparse drawings on flat backgrounds are less stable (most low frequencies sit near
 * the median), so flags on such images deserve a look before anything is dropped.
 */
export const DEFAULT_NEAR_DUPLICATE_DISTANCE = 10;

// cos((2x + 1) u pi / 64) for the 8 frequencies we keep; scipy's unnormalised DCT-II up to a constant factor,
// which the median comparison ignores.
const COSINES: Float64Array[] = Array.from({ length: LOW }, (_, u) =>
  Float64Array.from({ length: PHASH_SIDE }, (_, x) =>
    Math.cos(((2 * x + 1) * u * Math.PI) / (2 * PHASH_SIDE)),
  ),
);

/** pHash of a 32x32 single-channel 8-bit image (row-major), as 16 hex digits. */
export function phashFromGrey32(pixels: Uint8Array): string {
  if (pixels.length !== PHASH_SIDE * PHASH_SIDE) {
    throw new RangeError(`phash needs ${PHASH_SIDE * PHASH_SIDE} grey pixels, got ${pixels.length}`);
  }
  // Separable DCT: first along columns (y -> u), then along rows (x -> v).
  const partial = new Float64Array(LOW * PHASH_SIDE); // (u, x)
  for (let u = 0; u < LOW; u++) {
    const cu = COSINES[u];
    for (let x = 0; x < PHASH_SIDE; x++) {
      let sum = 0;
      for (let y = 0; y < PHASH_SIDE; y++) sum += cu[y] * pixels[y * PHASH_SIDE + x];
      partial[u * PHASH_SIDE + x] = sum;
    }
  }
  const low = new Float64Array(LOW * LOW); // (u, v)
  for (let u = 0; u < LOW; u++) {
    for (let v = 0; v < LOW; v++) {
      const cv = COSINES[v];
      let sum = 0;
      for (let x = 0; x < PHASH_SIDE; x++) sum += partial[u * PHASH_SIDE + x] * cv[x];
      low[u * LOW + v] = sum;
    }
  }
  const sorted = Float64Array.from(low).sort();
  const median = (sorted[31] + sorted[32]) / 2;
  let bits = 0n;
  for (let i = 0; i < 64; i++) bits = (bits << 1n) | (low[i] > median ? 1n : 0n);
  return bits.toString(16).padStart(16, '0');
}

/**
 * Luma of small 8-bit pixels with ITU-R 601 weights on the gamma-encoded values, as Pillow's convert('L')
 * (which imagehash uses) computes it. 1- or 2-channel input is grey already (its first channel).
 */
function lumaOf(pixels: Uint8Array, channels: number): Uint8Array {
  const count = pixels.length / channels;
  const grey = new Uint8Array(count);
  for (let i = 0, at = 0; i < count; i++, at += channels) {
    grey[i] =
      channels < 3
        ? pixels[at]
        : (pixels[at] * 299 + pixels[at + 1] * 587 + pixels[at + 2] * 114 + 500) / 1000;
  }
  return grey;
}

/**
 * pHash of already-decoded 8-bit pixels; transparent areas are flattened onto white first. The pixels are
 * shrunk to 32x32 in colour and only then turned grey: luma is a weighted sum and resampling is linear, so
 * the order barely matters to the result, while converting the full-size image to greyscale first cost
 * several times the whole hash.
 */
export async function phashFromRaw(image: RawImage): Promise<string> {
  const { data, width, height, channels } = image;
  let pipeline = sharp(data, { raw: { width, height, channels } });
  if (channels === 2 || channels === 4) pipeline = pipeline.flatten({ background: '#ffffff' });
  const small = await pipeline
    .resize(PHASH_SIDE, PHASH_SIDE, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return phashFromGrey32(lumaOf(small.data, small.info.channels));
}

/** pHash of an encoded image (decodes it; prefer `normalizeImage(...).phash` when normalising anyway). */
export async function perceptualHash(
  bytes: Uint8Array,
  limits: Omit<DecodeLimits, 'maxSide'> = {},
): Promise<string> {
  // 256 px is plenty for a 32x32 hash and lets JPEG shrink-on-load do most of the work.
  const { pixels } = await decodeImage(bytes, { ...limits, maxSide: 256 });
  return phashFromRaw(pixels);
}

function parseHash(hash: string): bigint {
  if (!/^[0-9a-f]{16}$/i.test(hash)) throw new RangeError(`not a 64-bit hex hash: '${hash}'`);
  return BigInt(`0x${hash}`);
}

/** Number of differing bits between two 64-bit hex hashes (0..64). */
export function hammingDistance(a: string, b: string): number {
  let diff = parseHash(a) ^ parseHash(b);
  let count = 0;
  while (diff) {
    diff &= diff - 1n;
    count++;
  }
  return count;
}

export function isNearDuplicate(
  a: string,
  b: string,
  maxDistance = DEFAULT_NEAR_DUPLICATE_DISTANCE,
): boolean {
  return hammingDistance(a, b) <= maxDistance;
}
