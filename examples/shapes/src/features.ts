// Encoder features computed directly with the engine (no service): the frozen vision tower's
// LLaVA features (layer VISION_FEATURE_LAYER, CLS dropped) per picture, and the Whisper-shaped
// encoder's last_hidden_state per clip (one window: the task's clips are shorter than it).
// Used by the engine-only experiment and its tests; the pipeline run gets the same numbers from
// the features service.
import { decodeWav } from '@mmit/media';
import {
  buildVisionGraph,
  buildWhisperEncoderGraph,
  loadImageProcessor,
  loadWhisperFeatureConfig,
  openVisionTower,
  openWhisperEncoder,
  preprocessImage,
  stackLogMel,
  visionOutputs,
  whisperLogMel,
} from '@mmit/models';
import { createSession, type HostTensor } from '@mmit/tensor';
import { VISION_FEATURE_LAYER } from './encoders.js';

/** Features of a set of items: row-major (count, tokens, dim). */
export interface FeatureMatrix {
  count: number;
  tokens: number;
  dim: number;
  data: Float32Array;
}

export function featureRows(m: FeatureMatrix, index: number): Float32Array {
  const size = m.tokens * m.dim;
  return m.data.subarray(index * size, (index + 1) * size);
}

async function runBatched(
  count: number,
  batchSize: number,
  run: (from: number, to: number) => Promise<HostTensor>,
): Promise<FeatureMatrix> {
  const parts: HostTensor[] = [];
  for (let from = 0; from < count; from += batchSize)
    parts.push(await run(from, Math.min(count, from + batchSize)));
  const [, tokens, dim] = parts[0].dims;
  const data = new Float32Array(count * tokens * dim);
  let offset = 0;
  for (const p of parts) {
    data.set(p.data as Float32Array, offset);
    offset += p.data.length;
  }
  return { count, tokens, dim, data };
}

export async function imageFeatures(towerDir: string, images: Uint8Array[]): Promise<FeatureMatrix> {
  const tower = openVisionTower(towerDir);
  const plan = loadImageProcessor(towerDir);
  const graph = buildVisionGraph(tower, { features: { layer: VISION_FEATURE_LAYER, select: 'patch' } });
  const session = await createSession(graph, { ep: 'cpu', cache: false });
  try {
    return await runBatched(images.length, 64, async (from, to) => {
      const pixels = await Promise.all(images.slice(from, to).map((b) => preprocessImage(b, plan)));
      const [c, h, w] = pixels[0].dims;
      const data = new Float32Array(pixels.length * c * h * w);
      for (const [i, p] of pixels.entries()) data.set(p.data, i * c * h * w);
      const out = await session.run({
        pixel_values: { dtype: 'float32', dims: [pixels.length, c, h, w], data },
      });
      return out[visionOutputs.features];
    });
  } finally {
    await session.release();
  }
}

export async function audioFeatures(encoderDir: string, clips: Uint8Array[]): Promise<FeatureMatrix> {
  const encoder = openWhisperEncoder(encoderDir);
  const config = loadWhisperFeatureConfig(encoderDir);
  const session = await createSession(buildWhisperEncoderGraph(encoder), { ep: 'cpu', cache: false });
  try {
    return await runBatched(clips.length, 64, async (from, to) => {
      const mels = clips
        .slice(from, to)
        .map((bytes) => whisperLogMel(decodeWav(bytes).channelData[0], config));
      return (await session.run({ input_features: stackLogMel(mels) })).last_hidden_state;
    });
  } finally {
    await session.release();
  }
}
