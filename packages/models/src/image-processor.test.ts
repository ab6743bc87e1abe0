// CLIP/SigLIP preprocessing against Hugging Face's CLIPImageProcessor output (case_clip), and the
// size rule, crop padding and config handling that HF defines and the fixture does not cover.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSafetensors } from '@mmit/tensor';
import sharp from 'sharp';
import { fixture } from '../../../test/paths.js';
import {
  ImagePreprocessError,
  ImageProcessorConfigSchema,
  loadImageProcessor,
  planImageProcessor,
  preprocessImage,
  preprocessImages,
  resizedSize,
  toPixelValues,
} from './image-processor.js';

const clipPlan = loadImageProcessor(fixture('tiny-clip-vision'));

describe('CLIP image preprocessing', () => {
  it('matches HF pixel_values from the PNG (mean < 0.01, max < 0.05)', async () => {
    const { tensors } = readSafetensors(fixture('case_clip.safetensors'));
    const expected = tensors.pixel_values.data as Float32Array;
    const got = await preprocessImage(fixture('case_clip_image.png'), clipPlan);
    assert.deepEqual([1, ...got.dims], tensors.pixel_values.dims);
    let sum = 0;
    let max = 0;
    for (let i = 0; i < expected.length; i++) {
      const d = Math.abs(got.data[i] - expected[i]);
      sum += d;
      max = Math.max(max, d);
    }
    assert.ok(sum / expected.length < 0.01, `mean ${sum / expected.length}`);
    assert.ok(max < 0.05, `max ${max}`);
  });

  it('resizes with HF shortest-edge rule: long side truncated, not rounded', () => {
    // 100x75 -> 42.67 wide: truncation gives 42 (rounding would give 43).
    assert.deepEqual(resizedSize(100, 75, { kind: 'shortest_edge', shortestEdge: 32 }), {
      width: 42,
      height: 32,
    });
    assert.deepEqual(resizedSize(75, 100, { kind: 'shortest_edge', shortestEdge: 32 }), {
      width: 32,
      height: 42,
    });
    assert.deepEqual(resizedSize(100, 75, { kind: 'fixed', height: 20, width: 30 }), {
      width: 30,
      height: 20,
    });
  });

  it('pads with zeros (before normalization) when the crop is larger than the image', () => {
    const plan = { ...clipPlan, resize: null, crop: { height: 4, width: 5 } };
    // A 2x3 image of value 255: HF centres it at row (4-2)//2 = 1, column (5-3)//2 = 1.
    const rgb = new Uint8Array(2 * 3 * 3).fill(255);
    const got = toPixelValues(rgb, 3, 2, plan);
    assert.deepEqual(got.dims, [3, 4, 5]);
    const at = (c: number, y: number, x: number) => got.data[(c * 4 + y) * 5 + x];
    const padded = (0 - clipPlan.mean[0]) / clipPlan.std[0];
    const filled = (1 - clipPlan.mean[0]) / clipPlan.std[0];
    assert.ok(Math.abs(at(0, 0, 0) - padded) < 1e-6);
    assert.ok(Math.abs(at(0, 1, 1) - filled) < 1e-6);
    assert.ok(Math.abs(at(0, 2, 3) - filled) < 1e-6);
    assert.ok(Math.abs(at(0, 3, 3) - padded) < 1e-6);
    assert.ok(Math.abs(at(0, 1, 4) - padded) < 1e-6);
  });

  it('batches images of different aspect ratios into [B, 3, crop, crop]', async () => {
    const wide = await sharp({ create: { width: 90, height: 40, channels: 3, background: '#336699' } })
      .png()
      .toBuffer();
    const tall = await sharp({ create: { width: 40, height: 90, channels: 4, background: '#ff000080' } })
      .png()
      .toBuffer();
    const batch = await preprocessImages([wide, tall], clipPlan);
    assert.deepEqual(batch.dims, [2, 3, 32, 32]);
    // A flat colour stays flat through resize and crop; alpha is dropped, not composited (PIL convert("RGB")).
    const blue = (0x99 / 255 - clipPlan.mean[2]) / clipPlan.std[2];
    const red = (1 - clipPlan.mean[0]) / clipPlan.std[0];
    assert.ok(Math.abs(batch.data[2 * 32 * 32 + 100] - blue) < 1e-5);
    assert.ok(Math.abs(batch.data[3 * 32 * 32 + 100] - red) < 1e-5);
  });
});

describe('image processor config', () => {
  it('reads SigLIP configs: fixed size, an integer size means a square, no crop', () => {
    const siglip = planImageProcessor(
      ImageProcessorConfigSchema.parse({
        image_processor_type: 'SiglipImageProcessor',
        size: { height: 384, width: 384 },
        image_mean: [0.5, 0.5, 0.5],
        image_std: [0.5, 0.5, 0.5],
      }),
    );
    assert.deepEqual(siglip.resize, { kind: 'fixed', height: 384, width: 384 });
    assert.equal(siglip.crop, null);
    const square = planImageProcessor(
      ImageProcessorConfigSchema.parse({ image_processor_type: 'SiglipImageProcessor', size: 224 }),
    );
    assert.deepEqual(square.resize, { kind: 'fixed', height: 224, width: 224 });
  });

  it('reads old CLIP configs: integer size is the shortest edge, integer crop_size a square', () => {
    const plan = planImageProcessor(
      ImageProcessorConfigSchema.parse({
        feature_extractor_type: 'CLIPFeatureExtractor',
        size: 336,
        crop_size: 336,
        do_center_crop: true,
      }),
    );
    assert.deepEqual(plan.resize, { kind: 'shortest_edge', shortestEdge: 336 });
    assert.deepEqual(plan.crop, { height: 336, width: 336 });
  });

  it('rejects a center crop without crop_size', () => {
    const config = ImageProcessorConfigSchema.parse({ size: 224, do_center_crop: true });
    assert.throws(() => planImageProcessor(config), ImagePreprocessError);
  });
});
