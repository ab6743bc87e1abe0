// Shared by this package's tests: a real (tiny) training run in a bucket, made through the
// trainer's own code path (spec.json as the service stores it, then executeRun), with the
// tiny CLIP tower as the encoder, so exports have a vision tower, a trained projector and,
// optionally, trained LoRA adapters to write.
import { join, resolve } from 'node:path';
import { keys, newId } from '@mmit/contracts';
import {
  applyProjector,
  buildLlavaStepGraph,
  buildVisionGraph,
  languageModelFromCheckpoint,
  llavaStepFeeds,
  openCheckpointFolder,
  openVisionTower,
  projectorParams,
  visionOutputs,
} from '@mmit/models';
import type { Bucket } from '@mmit/storage';
import { createSession, Graph, type HostTensor, hostTensor } from '@mmit/tensor';
import { executeRun, initialRunState, RunRecorder, type RunSpecInput, RunSpecSchema } from '@mmit/train';
import { TEST_ENCODER_KEY, writeTinyDataset } from '@mmit/train/testing';
import type { ExportRun } from './run-source.js';

export interface TinyRunOptions {
  fixturesDir: string;
  /** A decoder checkpoint folder under fixturesDir (tiny-llama, tiny-qwen2, tiny-phi3, ...). */
  lm: string;
  lora?: boolean;
  projector?: 'linear' | 'mlp2x_gelu';
  steps?: number;
  /** Give the run only the encoder key (the encoder then comes from encoder.json or the caller). */
  encoderKeyOnly?: boolean;
}

/** tiny-clip-vision: 32 px, patch 8 -> 16 patches of width 64 (CLS dropped by 'patch'). */
const TOWER = { rows: 16, width: 64 };

/** Trains a run to its end (one checkpoint, at the last step); returns its id. */
export async function trainTinyRun(bucket: Bucket, options: TinyRunOptions): Promise<string> {
  const datasetId = newId('dataset');
  await writeTinyDataset(bucket, datasetId, { train: 8, validation: 2, ...TOWER });
  const input: RunSpecInput = {
    datasetId,
    encoder: options.encoderKeyOnly
      ? { key: TEST_ENCODER_KEY }
      : { key: TEST_ENCODER_KEY, spec: { checkpoint: join(options.fixturesDir, 'tiny-clip-vision') } },
    lm: { checkpoint: resolve(options.fixturesDir, options.lm) },
    projector: { type: options.projector ?? 'mlp2x_gelu' },
    // Large steps, so trained LoRA B matrices are far from their zero start.
    optimizer: { lr: 1e-2, loraLr: 5e-2 },
    ...(options.lora ? { lora: { rank: 4, alpha: 8, targets: ['q_proj', 'v_proj', 'down_proj'] } } : {}),
    steps: options.steps ?? 2,
    batchSize: 4,
    seed: 3,
    threads: 1,
  };
  const spec = RunSpecSchema.parse(input);
  const runId = newId('run');
  await bucket.putJson(keys.runSpec(runId), spec, RunSpecSchema);
  const recorder = new RunRecorder(bucket, initialRunState(runId, undefined, new Date()), {
    stateIntervalMs: 0,
  });
  await executeRun({ bucket, spec, recorder });
  return runId;
}

/** Deterministic pixel values (B, 3, S, S) in the normalised range a CLIP processor produces. */
export function testPixels(batch: number, size: number, seed = 1): HostTensor<'float32'> {
  const data = Float32Array.from(
    { length: batch * 3 * size * size },
    (_, i) => Math.sin(i * 0.37 + seed) * 1.5,
  );
  return { dtype: 'float32', dims: [batch, 3, size, size], data };
}

/**
 * Our engine's image rows for a run (reference for the exports): the original tower's selected
 * features (buildVisionGraph), then the run's projector as a graph with its weights fed as params.
 */
export async function referenceImageRows(run: ExportRun, pixels: HostTensor): Promise<HostTensor> {
  const tower = openVisionTower(run.encoder.dir);
  try {
    const vision = buildVisionGraph(tower, {
      features: { layer: run.encoder.spec.visionFeatureLayer, select: run.encoder.spec.select },
    });
    const features = (await (await createSession(vision)).run({ pixel_values: pixels }))[
      visionOutputs.features
    ];
    const g = new Graph('projector');
    const spec = run.projector.spec;
    const x = g.input('features', 'float32', ['batch', 'rows', spec.inputDim]);
    g.output('rows', applyProjector(spec, projectorParams(g, spec), x));
    return (await (await createSession(g)).run({ features, ...run.projector.weights })).rows;
  } finally {
    tower.weights.close();
  }
}

/** `<image>` in the fixtures' tokenizer. */
export const TEST_IMAGE_TOKEN_ID = 3;

/**
 * The logits (1, T, V) of one fixed prompt with 16 image rows, through the LLaVA training graph of
 * the LM in `lmDir` with `params` (projector, and the run's LoRA adapters when `withLora`): what
 * an export must reproduce from its own folder.
 */
export async function llavaLogits(
  run: ExportRun,
  lmDir: string,
  params: Record<string, HostTensor<'float32'>>,
  withLora: boolean,
): Promise<HostTensor> {
  const ids = [10, 11, ...Array<number>(16).fill(TEST_IMAGE_TOKEN_ID), 20, 21, 22];
  const batch = {
    features: hostTensor(
      'float32',
      [1, 16, 64],
      Array.from({ length: 16 * 64 }, (_, i) => Math.sin(i * 0.3)),
    ),
    inputIds: hostTensor('int32', [1, ids.length], ids),
    attentionMask: hostTensor(
      'int32',
      [1, ids.length],
      ids.map(() => 1),
    ),
    labels: hostTensor(
      'int32',
      [1, ids.length],
      ids.map((id) => (id === TEST_IMAGE_TOKEN_ID ? -100 : id)),
    ),
  };
  const lora = run.lora;
  const lm = languageModelFromCheckpoint(openCheckpointFolder(lmDir));
  const step = buildLlavaStepGraph(lm, {
    projector: run.projector.spec,
    imageTokenId: TEST_IMAGE_TOKEN_ID,
    head: 'all',
    ...(withLora && lora ? { lora: { rank: lora.rank, alpha: lora.alpha, targets: lora.targets } } : {}),
  });
  const values = Object.fromEntries(Object.entries(params).map(([n, t]) => [n, t.data]));
  const session = await createSession(step.graph);
  try {
    return (await session.run(llavaStepFeeds(step, batch, values))).logits;
  } finally {
    await session.release();
  }
}

/**
 * The three logits an export of a LoRA run is judged by: the run's training graph (original LM +
 * adapters + projector), the exported folder through our own loader (its merged LM weights and its
 * projector tensors), and the original LM without the adapters (to show the merge mattered).
 */
export async function exportLogits(
  run: ExportRun,
  out: string,
): Promise<{ trained: HostTensor; exported: HostTensor; withoutLora: HostTensor }> {
  const lora = run.lora;
  if (!lora) throw new Error(`run ${run.runId} has no LoRA adapters`);
  const trained = await llavaLogits(run, run.lmDir, { ...run.projector.weights, ...lora.weights }, true);
  const folder = openCheckpointFolder(out);
  const projector = Object.fromEntries(Object.keys(run.projector.weights).map((n) => [n, folder.weight(n)]));
  const exported = await llavaLogits(run, out, projector, false);
  const withoutLora = await llavaLogits(run, run.lmDir, run.projector.weights, false);
  return { trained, exported, withoutLora };
}
