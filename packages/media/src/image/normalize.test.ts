import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { encodeWav } from '../audio/wav.js';
import {
  DecodeFailedError,
  EmptyFileError,
  ImageTooLargeError,
  MediaError,
  UnsupportedMediaTypeError,
} from '../errors.js';
import { extensionMatches, sniffFormat } from '../sniff.js';
import { createRng, randomScene, renderScene } from '../synthetic.js';
import { normalizeImage } from './normalize.js';

type Rgb = [number, number, number];

/** A width x height image whose left half is `left` and right half is `right`: orientation shows in it. */
function halves(width: number, height: number, left: Rgb, right: Rgb) {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(x < width / 2 ? left : right, (y * width + x) * 3);
  }
  return sharp(data, { raw: { width, height, channels: 3 } });
}

async function pixel(bytes: Uint8Array, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [...data.subarray(at, at + info.channels)];
}

function near(actual: number[], expected: number[], tolerance: number): boolean {
  return expected.every((v, i) => Math.abs(actual[i] - v) <= tolerance);
}

/** A PNG whose header claims width x height but whose pixel data is a stub: only a header read succeeds. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.alloc(16)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const RED: Rgb = [220, 20, 20];
const BLUE: Rgb = [20, 20, 220];

describe('normalizeImage: geometry', () => {
  it('bounds the longer side to maxSide and reports the original size', async () => {
    const photo = await renderScene(randomScene(createRng(1)), { width: 1600, height: 1200, format: 'jpeg' });
    const out = await normalizeImage(photo);
    assert.deepEqual([out.width, out.height, out.originalWidth, out.originalHeight], [1024, 768, 1600, 1200]);
    assert.equal(out.format, 'jpeg');
    const meta = await sharp(out.bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 1024, 768]);
    const small = await normalizeImage(photo, { maxSide: 200 });
    assert.deepEqual([small.width, small.height], [200, 150]);
  });

  it('never enlarges a small image', async () => {
    const out = await normalizeImage(await halves(300, 200, RED, BLUE).png().toBuffer());
    assert.deepEqual([out.width, out.height], [300, 200]);
  });

  it('applies EXIF orientation (rotations and mirroring) and reports displayed dimensions', async () => {
    const stored = halves(40, 20, RED, BLUE);
    // 6: rotate 90 degrees clockwise to display, so the stored left edge becomes the top.
    const rotated = await normalizeImage(
      await stored.clone().jpeg().withMetadata({ orientation: 6 }).toBuffer(),
    );
    assert.deepEqual(
      [rotated.width, rotated.height, rotated.originalWidth, rotated.originalHeight],
      [20, 40, 20, 40],
    );
    assert.ok(near(await pixel(rotated.bytes, 10, 5), RED, 12));
    assert.ok(near(await pixel(rotated.bytes, 10, 35), BLUE, 12));
    // 3: rotate 180 degrees; 2: mirror left-right. Both swap the halves without changing the size.
    for (const orientation of [3, 2]) {
      const out = await normalizeImage(await stored.clone().png().withMetadata({ orientation }).toBuffer());
      assert.deepEqual([out.width, out.height], [40, 20]);
      assert.ok(near(await pixel(out.bytes, 5, 10), BLUE, 12), `orientation ${orientation}`);
    }
  });
});

describe('normalizeImage: colour', () => {
  it('converts through the embedded ICC profile to sRGB', async () => {
    // Pure sRGB green tagged as Display P3 has other pixel values; undoing the profile restores the green.
    const p3 = await halves(16, 16, [0, 255, 0], [0, 255, 0]).withIccProfile('p3').png().toBuffer();
    const rawValues = await sharp(p3, { ignoreIcc: true }).raw().toBuffer();
    assert.ok(!near([...rawValues.subarray(0, 3)], [0, 255, 0], 20), 'fixture pixels really are P3 values');
    const out = await normalizeImage(p3);
    assert.ok(near(await pixel(out.bytes, 8, 8), [0, 255, 0], 8));
    assert.equal(
      (await sharp(out.bytes).metadata()).icc,
      undefined,
      'no profile kept: output is sRGB by definition',
    );
  });

  it('turns CMYK, greyscale and 16-bit inputs into 8-bit sRGB', async () => {
    const cmyk = await halves(16, 16, RED, RED).toColourspace('cmyk').jpeg().toBuffer();
    assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
    const fromCmyk = await normalizeImage(cmyk);
    assert.ok(near(await pixel(fromCmyk.bytes, 8, 8), RED, 40));
    const grey = await normalizeImage(
      await halves(16, 16, [90, 90, 90], [90, 90, 90]).greyscale().jpeg().toBuffer(),
    );
    assert.ok(near(await pixel(grey.bytes, 8, 8), [90, 90, 90], 4));
    const deep = await halves(16, 16, BLUE, BLUE).toColourspace('rgb16').png().toBuffer();
    assert.equal((await sharp(deep).metadata()).depth, 'ushort');
    const out = await normalizeImage(deep);
    assert.equal((await sharp(out.bytes).metadata()).depth, 'uchar');
    assert.ok(near(await pixel(out.bytes, 8, 8), BLUE, 8));
  });

  it('keeps used alpha as PNG and drops an all-opaque alpha channel to JPEG', async () => {
    const translucent = await sharp({
      create: { width: 8, height: 8, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.5 } },
    })
      .png()
      .toBuffer();
    const kept = await normalizeImage(translucent);
    assert.equal(kept.format, 'png');
    assert.equal(kept.hasAlpha, true);
    assert.equal((await pixel(kept.bytes, 4, 4))[3], 128);
    const opaque = await sharp({
      create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 1 } },
    })
      .png()
      .toBuffer();
    const dropped = await normalizeImage(opaque);
    assert.equal(dropped.format, 'jpeg');
    assert.equal(dropped.hasAlpha, false);
  });

  it('decodes every supported format (first frame of animations)', async () => {
    const base = () => halves(32, 24, RED, BLUE);
    for (const bytes of [
      await base().gif().toBuffer(),
      await base().webp({ lossless: true }).toBuffer(),
      await base().tiff().toBuffer(),
      await base().avif({ quality: 90 }).toBuffer(),
    ]) {
      const out = await normalizeImage(bytes);
      assert.deepEqual([out.width, out.height], [32, 24], out.originalFormat);
      assert.ok(near(await pixel(out.bytes, 4, 12), RED, 30), out.originalFormat);
    }
  });
});

describe('normalizeImage: identity', () => {
  it('hashes the stored bytes and the original bytes, deterministically', async () => {
    const input = await renderScene(randomScene(createRng(2)), { format: 'png' });
    const a = await normalizeImage(input);
    const b = await normalizeImage(input);
    assert.equal(a.sha256, createHash('sha256').update(a.bytes).digest('hex'));
    assert.equal(a.originalSha256, createHash('sha256').update(input).digest('hex'));
    assert.equal(a.sha256, b.sha256);
    assert.equal(a.phash, b.phash);
    assert.match(a.phash, /^[0-9a-f]{16}$/);
  });

  it('reports the real format of a file whose extension lies', async () => {
    const png = await halves(16, 16, RED, BLUE).png().toBuffer();
    const out = await normalizeImage(png); // uploaded as "photo.jpg"
    assert.equal(out.originalFormat, 'png');
    assert.equal(extensionMatches('photo.jpg', out.originalFormat), false);
  });

  it('makes a thumbnail from the same decode when asked', async () => {
    const photo = await renderScene(randomScene(createRng(3)), { width: 1600, height: 1200, format: 'jpeg' });
    const out = await normalizeImage(photo, { thumbnail: { side: 256 } });
    assert.deepEqual(
      [out.thumbnail?.width, out.thumbnail?.height, out.thumbnail?.format],
      [256, 192, 'webp'],
    );
    assert.equal(sniffFormat(out.thumbnail?.bytes ?? new Uint8Array(0))?.format, 'webp');
  });
});

describe('normalizeImage: bad input', () => {
  it('refuses a zero-byte file', async () => {
    await assert.rejects(
      normalizeImage(new Uint8Array(0)),
      (e: unknown) => e instanceof EmptyFileError && e.code === 'empty_file',
    );
  });

  it('refuses a truncated JPEG as decode_failed', async () => {
    const photo = await renderScene(randomScene(createRng(4)), { width: 800, height: 600, format: 'jpeg' });
    const cut = photo.subarray(0, Math.floor(photo.length * 0.6));
    await assert.rejects(normalizeImage(cut), (e: unknown) => {
      assert.ok(e instanceof DecodeFailedError);
      assert.equal(e.code, 'decode_failed');
      assert.match(e.message, /jpeg.*premature end/i);
      return true;
    });
  });

  it('refuses a decompression bomb from its header, before decoding it', async () => {
    // The pixel data is a stub: had the decoder run, this would fail as decode_failed instead.
    const bomb = pngHeaderOnly(50_000, 50_000);
    await assert.rejects(normalizeImage(bomb), (e: unknown) => {
      assert.ok(e instanceof ImageTooLargeError);
      assert.equal(e.code, 'image_too_large');
      assert.deepEqual([e.width, e.height], [50_000, 50_000]);
      assert.match(e.message, /50000 x 50000/);
      return true;
    });
    await assert.rejects(normalizeImage(pngHeaderOnly(2000, 2000)), DecodeFailedError);
  });

  it('applies a configured pixel limit to real images', async () => {
    const photo = await halves(1600, 1200, RED, BLUE).jpeg().toBuffer();
    await assert.rejects(normalizeImage(photo, { maxInputPixels: 1_000_000 }), ImageTooLargeError);
  });

  it('refuses unsupported and non-image formats with the list of supported ones', async () => {
    const bmp = Buffer.alloc(70);
    bmp.write('BM', 0, 'latin1');
    const cases: [Uint8Array, string | null][] = [
      [bmp, 'bmp'],
      [Buffer.from('<html>not an image</html>'), null],
      [encodeWav(new Float32Array(16), 16_000), 'wav'],
    ];
    for (const [bytes, detected] of cases) {
      await assert.rejects(normalizeImage(bytes), (e: unknown) => {
        assert.ok(e instanceof UnsupportedMediaTypeError);
        assert.ok(e instanceof MediaError);
        assert.equal(e.code, 'unsupported_media_type');
        assert.equal(e.detected, detected);
        assert.match(e.message, /supported: jpeg, png, gif, webp, tiff, avif/);
        return true;
      });
    }
  });
});
