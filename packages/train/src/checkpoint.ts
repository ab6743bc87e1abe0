// Checkpoints in the bucket, under runs/<id>/checkpoints/step-N/:
//   weights.safetensors    trainable weights, float32, LLaVA / PEFT names (loadable as they are)
//   optimizer.safetensors  float64 master parameters and both AdamW moments (`param.*`, `exp_avg.*`,
//                          `exp_avg_sq.*`, our names), so a resumed run continues bit for bit
//                          (built in memory: optimizer-file.ts)
//   trainer_state.json     step, data position, generator state, counters; written LAST, so a
//                          checkpoint without it is incomplete and never used
import { keys } from '@mmit/contracts';
import { encodeSafetensors } from '@mmit/features';
import type { OptimizerState } from '@mmit/models';
import type { Bucket } from '@mmit/storage';
import type { HostTensor } from '@mmit/tensor';
import { z } from 'zod';
import type { LoopState, TrainerCheckpoint } from './loop.js';
import { decodeOptimizerFile, encodeOptimizerFile } from './optimizer-file.js';
import { exportName } from './weight-names.js';

export const CHECKPOINT_FILES = {
  weights: 'weights.safetensors',
  optimizer: 'optimizer.safetensors',
  state: 'trainer_state.json',
} as const;

export const TrainerStateFileSchema = z.object({
  format: z.literal(1),
  step: z.number().int().nonnegative(),
  data: z.object({
    epoch: z.number().int().nonnegative(),
    batchInEpoch: z.number().int().nonnegative(),
    epochRandomState: z.number().int().nonnegative(),
  }),
  samplesSeen: z.number().int().nonnegative(),
  tokensSeen: z.number().int().nonnegative(),
  optimizerStep: z.number().int().nonnegative(),
  /** Parameter dims by our name (the optimizer file stores flat arrays). */
  dims: z.record(z.string(), z.array(z.number().int().nonnegative())),
  savedAt: z.iso.datetime(),
});
export type TrainerStateFile = z.infer<typeof TrainerStateFileSchema>;

export class RunCheckpointNotFoundError extends Error {
  readonly problemCode = 'not_found';
  override name = 'RunCheckpointNotFoundError';
}

export function checkpointKey(runId: string, step: number, file: keyof typeof CHECKPOINT_FILES): string {
  return `${keys.runCheckpoint(runId, step)}${CHECKPOINT_FILES[file]}`;
}

/** The trainable weights as float32 tensors under their export names. */
export function exportTensors(
  params: Record<string, ArrayLike<number>>,
  dims: Record<string, number[]>,
): Record<string, HostTensor> {
  return Object.fromEntries(
    Object.entries(params).map(([name, values]) => [
      exportName(name),
      { dtype: 'float32', dims: dims[name], data: new Float32Array(values) } as HostTensor,
    ]),
  );
}

export async function saveCheckpoint(
  bucket: Bucket,
  runId: string,
  checkpoint: TrainerCheckpoint,
  dims: Record<string, number[]>,
): Promise<string> {
  const { loop, optimizer } = checkpoint;
  const step = loop.step;
  const weights = encodeSafetensors(exportTensors(optimizer.params, dims), {
    format: 'pt',
    step: String(step),
  });
  await bucket.putBuffer(checkpointKey(runId, step, 'weights'), weights.bytes, {
    contentType: 'application/octet-stream',
  });
  await bucket.putBuffer(checkpointKey(runId, step, 'optimizer'), encodeOptimizerFile(optimizer), {
    contentType: 'application/octet-stream',
  });
  const state: TrainerStateFile = {
    format: 1,
    step,
    data: loop.data,
    samplesSeen: loop.samplesSeen,
    tokensSeen: loop.tokensSeen,
    optimizerStep: optimizer.step,
    dims,
    savedAt: new Date().toISOString(),
  };
  await bucket.putJson(checkpointKey(runId, step, 'state'), state, TrainerStateFileSchema);
  return keys.runCheckpoint(runId, step);
}

/** Steps that have a complete checkpoint (trainer_state.json present), ascending. */
export async function checkpointSteps(bucket: Bucket, runId: string): Promise<number[]> {
  const prefix = `${keys.runPrefix(runId)}checkpoints/`;
  const steps: number[] = [];
  for await (const obj of bucket.list(prefix)) {
    const match = /step-(\d+)\/trainer_state\.json$/.exec(obj.key);
    if (match) steps.push(Number(match[1]));
  }
  return steps.sort((a, b) => a - b);
}

export async function loadCheckpoint(
  bucket: Bucket,
  runId: string,
  step: number,
): Promise<TrainerCheckpoint & { dims: Record<string, number[]> }> {
  const state = await bucket.getJsonIfExists(checkpointKey(runId, step, 'state'), TrainerStateFileSchema);
  if (!state) throw new RunCheckpointNotFoundError(`run ${runId} has no complete checkpoint at step ${step}`);
  const key = checkpointKey(runId, step, 'optimizer');
  const optimizer: OptimizerState = {
    step: state.optimizerStep,
    ...decodeOptimizerFile(await bucket.getBuffer(key), key),
  };
  const loop: LoopState = {
    step: state.step,
    data: state.data,
    samplesSeen: state.samplesSeen,
    tokensSeen: state.tokensSeen,
  };
  return { loop, optimizer, dims: state.dims };
}
