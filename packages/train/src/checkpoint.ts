// Checkpoints in the bucket, under runs/<id>/checkpoints/step-N/:
//   weights.safetensors    trainable weights, float32, LLaVA / PEFT names (loadable as they are)
//   optimizer.safetensors  float64 master parameters and both AdamW moments (`param.*`, `exp_avg.*`,
//                          `exp_avg_sq.*`, our names), so a resumed run continues bit for bit
//   trainer_state.json     step, data position, generator state, counters; written LAST, so a
//                          checkpoint without it is incomplete and never used
// float64 tensors go through @mmit/tensor's file writer and reader (a temp file each way).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keys } from '@mmit/contracts';
import { encodeSafetensors } from '@mmit/features';
import type { OptimizerState } from '@mmit/models';
import type { Bucket } from '@mmit/storage';
import { type HostTensor, readSafetensors, writeSafetensors } from '@mmit/tensor';
import { z } from 'zod';
import type { LoopState, TrainerCheckpoint } from './loop.js';
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

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'mmit-ckpt-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function float64Bytes(tensors: Record<string, HostTensor>): Buffer {
  return withTempDir((dir) => {
    const path = join(dir, 'f.safetensors');
    writeSafetensors(path, tensors, { format: 'mmit-optimizer/1' });
    return readFileSync(path);
  });
}

function readFloat64(bytes: Buffer): Record<string, HostTensor> {
  return withTempDir((dir) => {
    const path = join(dir, 'f.safetensors');
    writeFileSync(path, bytes);
    return readSafetensors(path).tensors;
  });
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
      { dtype: 'float32', dims: dims[name], data: Float32Array.from(values) } as HostTensor,
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
  const f64: Record<string, HostTensor> = {};
  for (const [prefix, group] of [
    ['param', optimizer.params],
    ['exp_avg', optimizer.expAvg],
    ['exp_avg_sq', optimizer.expAvgSq],
  ] as const) {
    for (const [name, values] of Object.entries(group)) {
      f64[`${prefix}.${name}`] = { dtype: 'float64', dims: [values.length], data: values };
    }
  }
  await bucket.putBuffer(checkpointKey(runId, step, 'optimizer'), float64Bytes(f64), {
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
  const tensors = readFloat64(await bucket.getBuffer(checkpointKey(runId, step, 'optimizer')));
  const group = (prefix: string) =>
    Object.fromEntries(
      Object.entries(tensors)
        .filter(([name]) => name.startsWith(`${prefix}.`))
        .map(([name, t]) => [name.slice(prefix.length + 1), t.data as Float64Array]),
    );
  const optimizer: OptimizerState = {
    step: state.optimizerStep,
    params: group('param'),
    expAvg: group('exp_avg'),
    expAvgSq: group('exp_avg_sq'),
  };
  const loop: LoopState = {
    step: state.step,
    data: state.data,
    samplesSeen: state.samplesSeen,
    tokensSeen: state.tokensSeen,
  };
  return { loop, optimizer, dims: state.dims };
}
