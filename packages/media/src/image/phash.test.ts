import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { createRng } from '../synthetic.js';
import {
  DEFAULT_NEAR_DUPLICATE_DISTANCE,
  hammingDistance,
  isNearDuplicate,
  perceptualHash,
  phashFromGrey32,
  phashFromRaw,
} from './phash.js';

function grey32(value: (x: number, y: number) => number): Uint8Array {
  const pixels = new Uint8Array(32 * 32);
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) pixels[y * 32 + x] = value(x, y);
  return pixels;
}

/** Smooth random colour fields (a 6x5 grid of random colours upscaled): photo-like low-frequency content. */
async function smoothImage(seed: number): Promise<Buffer> {
  const rng = createRng(seed);
  const raw = Buffer.alloc(6 * 5 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(rng() * 256);
  return sharp(raw, { raw: { width: 6, height: 5, channels: 3 } })
    .resize(800, 600, { kernel: 'cubic' })
    .png()
    .toBuffer();
}

describe('phashFromGrey32', () => {
  it("matches imagehash's phash (scipy DCT-II, 8x8 low frequencies vs median) on reference patterns", () => {
    // Expected values computed with scipy.fftpack.dct(dct(p, axis=0), axis=1)[:8, :8] > median, exactly the
    // steps of imagehash.phash on a 32x32 greyscale image.
    assert.equal(
      phashFromGrey32(grey32((x, y) => (x * 7 + y * 13 + ((x * y) % 17)) % 256)),
      '88b38c376ce12d5b',
    );
    assert.equal(
      phashFromGrey32(grey32((x, y) => Math.round(127.5 + 127.5 * Math.sin(x / 3) * Math.cos(y / 5)))),
      'f0f0f00f0f0f0f0f',
    );
    assert.equal(
      phashFromGrey32(grey32((x, y) => (x * x + 3 * y * y + 5 * x * y) % 251)),
      'ae1307030e2f1f6f',
    );
  });

  it('rejects input of the wrong size', () => {
    assert.throws(() => phashFromGrey32(new Uint8Array(100)), /needs 1024 grey pixels, got 100/);
  });
});

describe('hammingDistance', () => {
  it('counts differing bits', () => {
    assert.equal(hammingDistance('0000000000000000', '0000000000000000'), 0);
    assert.equal(hammingDistance('0000000000000000', 'ffffffffffffffff'), 64);
    assert.equal(hammingDistance('8000000000000001', '0000000000000000'), 2);
    assert.equal(hammingDistance('F0F0F0F0F0F0F0F0', '0f0f0f0f0f0f0f0f'), 64);
    assert.throws(() => hammingDistance('abc', '0000000000000000'), /not a 64-bit hex hash: 'abc'/);
  });
});

describe('near duplicates', () => {
  it('finds resized and recompressed copies and tells different images apart', async () => {
    const originals = await Promise.all([1, 2, 3, 4, 5, 6].map(smoothImage));
    const hashes = await Promise.all(originals.map((bytes) => perceptualHash(bytes)));
    for (const [i, bytes] of originals.entries()) {
      const copy = await sharp(bytes).resize(320).jpeg({ quality: 50 }).toBuffer();
      const copyHash = await perceptualHash(copy);
      assert.ok(
        isNearDuplicate(hashes[i], copyHash),
        `copy ${i} at distance ${hammingDistance(hashes[i], copyHash)}`,
      );
    }
    for (let i = 0; i < hashes.length; i++) {
      for (let j = i + 1; j < hashes.length; j++) {
        const distance = hammingDistance(hashes[i], hashes[j]);
        assert.ok(distance > DEFAULT_NEAR_DUPLICATE_DISTANCE, `images ${i} and ${j} at distance ${distance}`);
      }
    }
  });

  it('hashes a colour image like its greyscale copy (luma taken after shrinking, as Pillow\'s convert("L") weighs it)', async () => {
    for (const seed of [7, 8, 9]) {
      const { data, info } = await sharp(await smoothImage(seed))
        .raw()
        .toBuffer({ resolveWithObject: true });
      const grey = Buffer.alloc(info.width * info.height);
      for (let i = 0; i < grey.length; i++) {
        grey[i] = Math.round((data[i * 3] * 299 + data[i * 3 + 1] * 587 + data[i * 3 + 2] * 114) / 1000);
      }
      const colourHash = await phashFromRaw({ data, width: info.width, height: info.height, channels: 3 });
      const greyHash = await phashFromRaw({
        data: grey,
        width: info.width,
        height: info.height,
        channels: 1,
      });
      assert.ok(
        hammingDistance(colourHash, greyHash) <= 2,
        `seed ${seed}: ${colourHash} vs ${greyHash} at distance ${hammingDistance(colourHash, greyHash)}`,
      );
    }
  });

  it('honours a configured threshold', () => {
    assert.equal(isNearDuplicate('0000000000000000', '000000000000000f', 4), true);
    assert.equal(isNearDuplicate('0000000000000000', '000000000000001f', 4), false);
  });
});
