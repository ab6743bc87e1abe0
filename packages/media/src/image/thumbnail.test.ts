import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { sniffFormat } from '../sniff.js';
import { makeThumbnail } from './thumbnail.js';

describe('makeThumbnail', () => {
  it('bounds the longer side, keeps the aspect ratio and applies orientation', async () => {
    const landscape = await sharp({
      create: { width: 1000, height: 500, channels: 3, background: '#336699' },
    })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const thumb = await makeThumbnail(landscape);
    assert.deepEqual([thumb.width, thumb.height, thumb.format], [128, 256, 'webp']);
    assert.equal(sniffFormat(thumb.bytes)?.format, 'webp');
  });

  it('writes JPEG on request, flattening transparency onto white, and never enlarges', async () => {
    const clear = await sharp({
      create: { width: 50, height: 40, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const thumb = await makeThumbnail(clear, { format: 'jpeg', side: 128 });
    assert.deepEqual([thumb.width, thumb.height, sniffFormat(thumb.bytes)?.format], [50, 40, 'jpeg']);
    const [r, g, b] = await sharp(thumb.bytes).raw().toBuffer();
    assert.ok(r > 250 && g > 250 && b > 250, `flattened to ${[r, g, b]}`);
  });
});
