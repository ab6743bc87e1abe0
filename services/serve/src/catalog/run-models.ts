// Finished training runs as servable models. A run is listed when its state.json says
// `succeeded` and names its last checkpoint; loading it reads that checkpoint through the train
// package's one reader of a trained run (readTrainedRun, as export does): LM, tokenizer, LoRA,
// template, projector, and the encoder spec whole, so media are encoded exactly as the run's
// features were made (layer, selection, prefix, compute precision and stored dtype).
import { keys, RunId } from '@mmit/contracts';
import { type Bucket, BucketNotFoundError } from '@mmit/storage';
import { type RunState, RunStateSchema, readTrainedRun, type TrainedRun, TrainedRunError } from '@mmit/train';
import type { ModelDefinition } from '../engine/served-model.js';

export interface ListedModel {
  id: string;
  created: number;
  ownedBy: string;
  /** The run's name (its alias), when it has one. */
  name?: string;
  /** For an alias: the run id it stands for. */
  root?: string;
}

export class RunNotServableError extends Error {
  override name = 'RunNotServableError';
}

export function isRunId(id: string): boolean {
  return RunId.safeParse(id).success;
}

/** Runs that finished with a checkpoint, newest first. */
export async function listFinishedRuns(bucket: Bucket): Promise<ListedModel[]> {
  // No bucket yet (nothing trained, no service has created it): no runs, not an error.
  const prefixes = await bucket.listPrefixes('runs/').catch((err: unknown) => {
    if (err instanceof BucketNotFoundError) return [];
    throw err;
  });
  const states = await Promise.all(
    prefixes
      .map((p) => p.replace(/^runs\//, '').replace(/\/$/, ''))
      .filter(isRunId)
      .map((id) => bucket.getJsonIfExists(keys.runState(id), RunStateSchema).catch(() => undefined)),
  );
  return states
    .filter((s): s is RunState => s !== undefined && s.status === 'succeeded' && s.lastCheckpoint !== null)
    .map((s) => ({
      id: s.id,
      created: Math.floor(Date.parse(s.finishedAt ?? s.updatedAt) / 1000),
      ownedBy: 'mmit-trainer',
      ...(s.name ? { name: s.name } : {}),
    }))
    .sort((a, b) => b.created - a.created);
}

/** Everything needed to load run `id`; throws RunNotServableError when it cannot be served. */
export async function runDefinition(bucket: Bucket, id: string): Promise<ModelDefinition | undefined> {
  const state = await bucket.getJsonIfExists(keys.runState(id), RunStateSchema);
  if (!state) return undefined;
  if (state.status !== 'succeeded' || !state.lastCheckpoint) {
    throw new RunNotServableError(
      `run ${id} is ${state.status}${state.lastCheckpoint ? '' : ' with no checkpoint'}; only succeeded runs are served`,
    );
  }
  let run: TrainedRun;
  try {
    run = await readTrainedRun(bucket, id, { step: state.lastCheckpoint.step });
  } catch (err) {
    if (err instanceof TrainedRunError) throw new RunNotServableError(`run ${id}: ${err.message}`);
    throw err;
  }
  const { spec, encoder } = run;
  return {
    id,
    lmDir: run.lmDir,
    tokenizerDir: run.tokenizerDir,
    template: spec.template,
    ...(run.lora ? { lora: run.lora } : {}),
    media: {
      token: spec.lm.imageToken,
      // The encoder exactly as the run's features were made: its spec whole, folders resolved.
      encoder: { spec: encoder.spec, checkpointDir: encoder.dir, processorDir: encoder.processorDir },
      projector: run.projector,
    },
  };
}
