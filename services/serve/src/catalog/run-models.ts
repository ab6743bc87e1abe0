// Finished training runs as servable models. A run is listed when its state.json says
// `succeeded` and names its last checkpoint; loading it reads spec.json (which LM, tokenizer,
// encoder, projector type, LoRA, template) and the checkpoint's weights.safetensors (projector
// under llava-hf's names, LoRA under PEFT's), and resolves the encoder the run's features came
// from (its spec, or the encoder.json the feature cache keeps for its key).
import { keys, RunId } from '@mmit/contracts';
import { EncoderSpecSchema, parseSafetensorsHeader, readEncoderRecord, tensorAt } from '@mmit/features';
import { detectEncoder, resolveCheckpoint } from '@mmit/models';
import { type Bucket, BucketNotFoundError } from '@mmit/storage';
import type { HostTensor } from '@mmit/tensor';
import {
  CHECKPOINT_FILES,
  oursFromExportName,
  type RunSpec,
  RunSpecSchema,
  type RunState,
  RunStateSchema,
} from '@mmit/train';
import type { EncoderSetup } from '../engine/media-encoder.js';
import type { ModelDefinition } from '../engine/served-model.js';

export interface ListedModel {
  id: string;
  created: number;
  ownedBy: string;
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
    }))
    .sort((a, b) => b.created - a.created);
}

async function encoderSetup(bucket: Bucket, spec: RunSpec, state: RunState): Promise<EncoderSetup> {
  let encoder = spec.encoder.spec;
  const key = spec.encoder.key ?? state.encoderKey ?? undefined;
  if (!encoder && key) {
    const record = await readEncoderRecord(bucket, key);
    if (!record)
      throw new RunNotServableError(`run ${state.id}: the feature cache has no encoder.json for ${key}`);
    encoder = EncoderSpecSchema.parse(record.spec);
  }
  if (!encoder) throw new RunNotServableError(`run ${state.id}: its spec names no encoder`);
  const checkpointDir = await resolveCheckpoint(encoder.checkpoint);
  return {
    modality: detectEncoder(checkpointDir).family.modality,
    checkpointDir,
    processorDir: encoder.processor ? await resolveCheckpoint(encoder.processor) : checkpointDir,
    layer: encoder.visionFeatureLayer,
    select: encoder.select,
    ...(encoder.prefix ? { prefix: encoder.prefix } : {}),
  };
}

/** Reads a checkpoint's weights.safetensors into our parameter names. */
async function checkpointWeights(
  bucket: Bucket,
  prefix: string,
): Promise<Record<string, HostTensor<'float32'>>> {
  const bytes = await bucket.getBuffer(`${prefix}${CHECKPOINT_FILES.weights}`);
  const header = parseSafetensorsHeader(bytes, `${prefix}${CHECKPOINT_FILES.weights}`);
  const out: Record<string, HostTensor<'float32'>> = {};
  for (const [name, placement] of Object.entries(header.placements)) {
    const t = tensorAt(bytes, placement);
    if (t.dtype !== 'float32')
      throw new RunNotServableError(`${prefix}: ${name} is ${t.dtype}, expected float32`);
    out[oursFromExportName(name)] = t as HostTensor<'float32'>;
  }
  return out;
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
  const spec = RunSpecSchema.parse(await bucket.getJson(keys.runSpec(id)));
  const weights = await checkpointWeights(bucket, state.lastCheckpoint.prefix);
  const projectorWeights = Object.fromEntries(
    Object.entries(weights).filter(([n]) => n.startsWith('projector.')),
  );
  const linear1 = projectorWeights['projector.linear_1.weight'];
  if (!linear1) throw new RunNotServableError(`run ${id}: the checkpoint has no projector weights`);
  const loraTensors = Object.fromEntries(Object.entries(weights).filter(([n]) => n.startsWith('lora.')));
  const lmDir = await resolveCheckpoint(spec.lm.checkpoint);
  return {
    id,
    lmDir,
    tokenizerDir: spec.lm.tokenizer ? await resolveCheckpoint(spec.lm.tokenizer) : lmDir,
    template: spec.template,
    ...(spec.lora ? { lora: { rank: spec.lora.rank, alpha: spec.lora.alpha, weights: loraTensors } } : {}),
    media: {
      token: spec.lm.imageToken,
      encoder: await encoderSetup(bucket, spec, state),
      projector: {
        spec: { type: spec.projector.type, inputDim: linear1.dims[1], outputDim: linear1.dims[0] },
        weights: projectorWeights,
      },
    },
  };
}
