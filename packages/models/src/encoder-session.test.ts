// openEncoderSession is what the features service and serve both open encoders with, so what it
// reads from the spec is what keeps their numbers equal: the layer and selection (rows per image),
// the compute precision, the processor folder, and the encoder's kind by the registry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type HostTensor, toNumbers } from '@mmit/tensor';
import { fixture } from '../../../test/paths.js';
import {
  type AudioEncoderSession,
  type EncoderSession,
  type EncoderSessionSpec,
  openEncoderSession,
  type VisionEncoderSession,
} from './encoder-session.js';
import { UnsupportedEncoderError } from './encoders.js';
import { preprocessImage } from './image-processor.js';
import { visionOutputs } from './vision-tower.js';

const clip = fixture('tiny-clip-vision');
const whisper = fixture('tiny-whisper');
const patchFeatures: EncoderSessionSpec = { visionFeatureLayer: -2, select: 'patch', compute: 'float32' };

async function withSession<T>(
  spec: EncoderSessionSpec,
  dir: string,
  use: (opened: EncoderSession) => Promise<T>,
): Promise<T> {
  const opened = await openEncoderSession(
    spec,
    { checkpointDir: dir, processorDir: dir },
    { ep: 'cpu', threads: 1 },
  );
  try {
    return await use(opened);
  } finally {
    await opened.session.release();
  }
}

function vision(opened: EncoderSession): VisionEncoderSession {
  assert.ok(opened.modality === 'image', `a vision session, not ${opened.modality}`);
  return opened;
}

function audio(opened: EncoderSession): AudioEncoderSession {
  assert.ok(opened.modality === 'audio', `an audio session, not ${opened.modality}`);
  return opened;
}

/** The selected features of the fixture image through a vision session. */
async function imageFeatures(opened: VisionEncoderSession): Promise<HostTensor> {
  const pixels = await preprocessImage(fixture('case_clip_image.png'), opened.plan);
  const batch: HostTensor = { dtype: 'float32', dims: [1, ...pixels.dims], data: pixels.data };
  return (await opened.session.run({ pixel_values: batch }))[visionOutputs.features];
}

describe('openEncoderSession', () => {
  it('opens a CLIP tower with the spec selection; rowsPerImage is what the session gives', async () => {
    for (const select of ['patch', 'cls_patch'] as const) {
      await withSession({ ...patchFeatures, select }, clip, async (opened) => {
        const tower = vision(opened);
        assert.equal(tower.kind, 'clip');
        const features = await imageFeatures(tower);
        assert.equal(features.dims[1], tower.rowsPerImage, `${select}: rows per image`);
      });
    }
  });

  it('runs the graph at the spec compute precision', async () => {
    const full = await withSession(patchFeatures, clip, async (o) =>
      toNumbers(await imageFeatures(vision(o))),
    );
    const half = await withSession({ ...patchFeatures, compute: 'float16' }, clip, async (o) =>
      toNumbers(await imageFeatures(vision(o))),
    );
    assert.equal(half.length, full.length);
    let gap = 0;
    let scale = 0;
    for (let i = 0; i < full.length; i++) {
      gap = Math.max(gap, Math.abs(half[i] - full[i]));
      scale = Math.max(scale, Math.abs(full[i]));
    }
    // float16 compute must move the numbers (else the spec was ignored), but only by rounding.
    assert.ok(gap > 0, 'a float16 graph gave exactly the float32 numbers');
    assert.ok(gap / scale < 1e-2, `float16 moved the features by ${gap / scale} of their scale`);
  });

  it('opens Whisper as the audio encoder with its log-mel config and positions', async () => {
    // The vision fields of a spec mean nothing to an audio encoder; they are there as the schema fills them.
    await withSession(patchFeatures, whisper, async (session) => {
      const opened = audio(session);
      assert.equal(opened.kind, 'whisper');
      const frames = 2 * opened.positions;
      const mel = new Float32Array(opened.config.feature_size * frames);
      const out = await opened.session.run({
        input_features: { dtype: 'float32', dims: [1, opened.config.feature_size, frames], data: mel },
      });
      assert.equal(out.last_hidden_state.dims[1], opened.positions);
    });
  });

  it('refuses a checkpoint that is no encoder, naming the valid kinds', async () => {
    await assert.rejects(
      openEncoderSession(
        patchFeatures,
        { checkpointDir: fixture('tiny-llama'), processorDir: clip },
        { ep: 'cpu' },
      ),
      (err: Error) => err instanceof UnsupportedEncoderError && /valid: clip/.test(err.message),
    );
  });
});
