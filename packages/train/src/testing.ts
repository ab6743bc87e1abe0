// Shared by this package's tests (and the service's and bench's): the golden five-step cases of
// ../shared/fixtures/hf-tiny as training examples, features and a ready step graph; and a tiny
// dataset with cached features written to a bucket the way the synth and features services do.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { keys } from '@mmit/contracts';
import { buildShard, newShardId, publishShard } from '@mmit/features';
import {
  buildLlavaStepGraph,
  type LlavaStepGraph,
  languageModelFromCheckpoint,
  openCheckpointFolder,
  type ProjectorSpec,
} from '@mmit/models';
import { mulberry32 } from '@mmit/random';
import type { Bucket } from '@mmit/storage';
import { type HostTensor, readSafetensors, toNumbers } from '@mmit/tensor';
import type { TrainExample } from './batching.js';
import { MemoryFeatures } from './features.js';

export interface TrainCase {
  examples: TrainExample[];
  features: MemoryFeatures;
  step: LlavaStepGraph;
  initial: Record<string, Float32Array>;
  final: Record<string, Float32Array>;
  losses: number[];
  optimizer: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
}

/** `case_llava_train_<lm>`: rows cut at their attention mask, features keyed `row0`, `row1`, ... */
export function loadTrainCase(fixturesDir: string, lm: 'llama' | 'qwen2'): TrainCase {
  const { tensors, metadata } = readSafetensors(join(fixturesDir, `case_llava_train_${lm}.safetensors`));
  const meta = JSON.parse(metadata.json) as TrainCase & { image_token_id: number; lm: string };
  const [rows, length] = tensors.input_ids.dims;
  const ids = toNumbers(tensors.input_ids);
  const mask = toNumbers(tensors.attention_mask);
  const labels = toNumbers(tensors.labels);
  const [, n, dv] = tensors.features.dims;
  const blocks = new Map<string, HostTensor>();
  const examples: TrainExample[] = [];
  for (let b = 0; b < rows; b++) {
    let real = 0;
    for (let t = 0; t < length; t++) real += mask[b * length + t];
    examples.push({
      id: `row${b}`,
      media: `row${b}`,
      inputIds: Int32Array.from(ids.subarray(b * length, b * length + real)),
      labels: Int32Array.from(labels.subarray(b * length, b * length + real)),
    });
    const data = (tensors.features.data as Float32Array).slice(b * n * dv, (b + 1) * n * dv);
    blocks.set(`row${b}`, { dtype: 'float32', dims: [n, dv], data });
  }
  const lmModel = languageModelFromCheckpoint(openCheckpointFolder(join(fixturesDir, meta.lm)));
  const projector: ProjectorSpec = { type: 'mlp2x_gelu', inputDim: dv, outputDim: lmModel.config.hiddenSize };
  const step = buildLlavaStepGraph(lmModel, {
    projector,
    imageTokenId: meta.image_token_id,
    head: 'labelled',
  });
  const pick = (prefix: string) =>
    Object.fromEntries(step.params.map((name) => [name, tensors[`${prefix}${name}`].data as Float32Array]));
  return {
    examples,
    features: new MemoryFeatures(blocks),
    step,
    initial: pick(''),
    final: pick('final.'),
    losses: [...toNumbers(tensors.losses)],
    optimizer: meta.optimizer,
  };
}

/** ||a - b|| / ||b||. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < b.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

/** An encoder key for test features (the shape features keys have). */
export const TEST_ENCODER_KEY = `clip-${'ab'.repeat(16)}`;

const CAPTIONS = [
  'a red cat on a mat',
  'a blue dog in the park',
  'two birds over the sea',
  'a green car near a house',
  'a small boat on a lake',
  'a tall tree in the snow',
];

export interface TinyDatasetOptions {
  train: number;
  validation: number;
  rows?: number;
  width?: number;
  /** Samples whose features are not written (at the end of the train split). */
  withoutFeatures?: number;
  /**
   * Audio samples after those (`modality: audio`, as synth writes them; 3 of 4 train, the rest
   * validation), with no features under TEST_ENCODER_KEY, which is an image (CLIP) key.
   */
  audio?: number;
  seed?: number;
}

/**
 * Writes a small dataset as the synth service would (manifest + samples-00000.jsonl) and its
 * features as the features service would (one shard + index segment under TEST_ENCODER_KEY).
 * Each caption comes with features that encode it (a fixed random direction per caption plus
 * noise), so a projector can learn something that generalises to the validation split.
 */
export async function writeTinyDataset(
  bucket: Bucket,
  datasetId: string,
  options: TinyDatasetOptions,
): Promise<{ media: string[] }> {
  const rows = options.rows ?? 4;
  const width = options.width ?? 64;
  const random = mulberry32(options.seed ?? 1);
  const direction = CAPTIONS.map(() => Float32Array.from({ length: rows * width }, () => random() * 2 - 1));
  const total = options.train + options.validation;
  const lines: string[] = [];
  const items: { sha256: string; block: { features: HostTensor<'float32'> } }[] = [];
  const media: string[] = [];
  for (let i = 0; i < total; i++) {
    const caption = i % CAPTIONS.length;
    const sha = createHash('sha256').update(`tiny-${datasetId}-${i}`).digest('hex');
    media.push(sha);
    const split = i < options.train ? 'train' : 'validation';
    lines.push(
      JSON.stringify({
        id: `s${i}`,
        image: `media/${sha}.png`,
        conversations: [
          { from: 'human', value: '<image>\nDescribe the image briefly.' },
          { from: 'gpt', value: CAPTIONS[caption] },
        ],
        split,
        mediaSha256: sha,
      }),
    );
    const skip = split === 'train' && i >= options.train - (options.withoutFeatures ?? 0);
    if (skip) continue;
    const data = Float32Array.from(direction[caption], (v) => v + 0.1 * (random() * 2 - 1));
    items.push({ sha256: sha, block: { features: { dtype: 'float32', dims: [rows, width], data } } });
  }
  for (let i = 0; i < (options.audio ?? 0); i++) {
    const sha = createHash('sha256').update(`tiny-audio-${datasetId}-${i}`).digest('hex');
    media.push(sha);
    lines.push(
      JSON.stringify({
        id: `a${i}`,
        audio: `media/${sha}.wav`,
        conversations: [
          { from: 'human', value: '<audio>\nDescribe the sound briefly.' },
          { from: 'gpt', value: 'a dog barking' },
        ],
        modality: 'audio',
        split: i % 4 === 3 ? 'validation' : 'train',
        mediaSha256: sha,
      }),
    );
  }
  const now = new Date().toISOString();
  await bucket.putJson(keys.datasetManifest(datasetId), {
    id: datasetId,
    name: 'tiny',
    status: 'ready',
    createdAt: now,
  });
  await bucket.putBuffer(keys.datasetSamples(datasetId, 0), `${lines.join('\n')}\n`);
  const shardId = newShardId();
  const { bytes, segment } = buildShard(TEST_ENCODER_KEY, shardId, items);
  await publishShard(bucket, bytes, segment);
  return { media };
}
