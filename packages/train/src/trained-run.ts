// The one reader of a trained run, from the bucket alone: its spec (`runs/<id>/spec.json`), its
// state when there is one, one complete checkpoint's trainable weights (llava-hf / PEFT names,
// mapped back to ours, split into projector and LoRA), and the local folders of the LM, its
// tokenizer, the encoder its features came from and that encoder's processor. The encoder spec is
// the run's own, else the encoder.json the feature cache wrote for the run's encoder key; it comes
// whole (layer, selection, prefix, and the compute precision and stored dtype the features were
// made with), so whoever encodes media for this run does it exactly as the training features were
// made. Serve, export and the CLI read runs through here.
import {
  type EncoderSpec,
  EncoderSpecSchema,
  keys,
  type RunSpec,
  RunSpecSchema,
  type RunState,
  RunStateSchema,
} from '@mmit/contracts';
import { parseSafetensorsHeader, readEncoderRecord, tensorAt } from '@mmit/features';
import {
  detectEncoder,
  type EncoderFamily,
  type HubOptions,
  type LoraAdapters,
  type LoraTarget,
  type ProjectorSpec,
  resolveCheckpoint,
  resolveSideFolder,
} from '@mmit/models';
import type { Bucket } from '@mmit/storage';
import type { HostTensor } from '@mmit/tensor';
import { checkpointKey, checkpointSteps } from './checkpoint.js';
import { oursFromExportName } from './weight-names.js';

/** Why a run cannot be read: `not_found` (run, step, folder), `conflict` (no checkpoint yet), `validation`. */
export type TrainedRunProblem = 'not_found' | 'conflict' | 'validation';

export class TrainedRunError extends Error {
  override name = 'TrainedRunError';
  constructor(
    readonly problem: TrainedRunProblem,
    message: string,
  ) {
    super(message);
  }
}

export interface TrainedRunEncoder {
  /** The spec the run's features were made with, whole. */
  spec: EncoderSpec;
  /** The checkpoint as the spec names it (folder or repo id), for messages and configs. */
  checkpoint: string;
  /** Its local folder. */
  dir: string;
  /** Folder with preprocessor_config.json. */
  processorDir: string;
  family: EncoderFamily;
}

export interface TrainedRun {
  runId: string;
  /** The checkpoint read. */
  step: number;
  spec: RunSpec;
  /** The stored state, when the run has one (a run written by hand may not). */
  state: RunState | null;
  lmDir: string;
  tokenizerDir: string;
  encoder: TrainedRunEncoder;
  projector: { spec: ProjectorSpec; weights: Record<string, HostTensor<'float32'>> };
  /** The adapters (with the spec's targets), or null for a projector-only run. */
  lora: (LoraAdapters & { targets: LoraTarget[] }) | null;
}

export interface ReadTrainedRunOptions {
  /** Checkpoint step (default: the latest complete one). */
  step?: number;
  /** An encoder checkpoint to use instead of the recorded one (layer and selection stay the run's). */
  encoder?: string;
  hub?: HubOptions;
}

export async function readTrainedRun(
  bucket: Bucket,
  runId: string,
  options: ReadTrainedRunOptions = {},
): Promise<TrainedRun> {
  const spec = await bucket.getJsonIfExists(keys.runSpec(runId), RunSpecSchema);
  if (!spec)
    throw new TrainedRunError(
      'not_found',
      `run ${runId} not found (no ${keys.runSpec(runId)} in the bucket)`,
    );
  const state = (await bucket.getJsonIfExists(keys.runState(runId), RunStateSchema)) ?? null;
  const step = await pickStep(bucket, runId, options.step);
  const trained = await readTrainedWeights(bucket, runId, step);
  const encoderSpec = await encoderSpecOf(bucket, spec, state, options.encoder);
  const open = async (what: string, resolve: () => Promise<string>) => {
    try {
      return await resolve();
    } catch (err) {
      throw new TrainedRunError('not_found', `${what} cannot be opened: ${(err as Error).message}`);
    }
  };
  const lmDir = await open(`lm.checkpoint ${spec.lm.checkpoint}`, () =>
    resolveCheckpoint(spec.lm.checkpoint, { ...options.hub, ...revisionOf(spec.lm.revision) }),
  );
  const tokenizer = spec.lm.tokenizer;
  const tokenizerDir = tokenizer
    ? await open(`lm.tokenizer ${tokenizer}`, () =>
        resolveSideFolder(tokenizer, 'tokenizer.json', options.hub),
      )
    : lmDir;
  const encoderDir = await open(`encoder checkpoint ${encoderSpec.checkpoint}`, () =>
    resolveCheckpoint(encoderSpec.checkpoint, { ...options.hub, ...revisionOf(encoderSpec.revision) }),
  );
  const processor = encoderSpec.processor;
  const processorDir = processor
    ? await open(`encoder processor ${processor}`, () =>
        resolveSideFolder(processor, 'preprocessor_config.json', options.hub),
      )
    : encoderDir;
  const hasLora = Object.keys(trained.lora).length > 0;
  if (hasLora && !spec.lora) {
    throw new TrainedRunError(
      'validation',
      `checkpoint step ${step} of run ${runId} holds LoRA weights but the spec has no lora section`,
    );
  }
  return {
    runId,
    step,
    spec,
    state,
    lmDir,
    tokenizerDir,
    encoder: {
      spec: encoderSpec,
      checkpoint: encoderSpec.checkpoint,
      dir: encoderDir,
      processorDir,
      family: detectEncoder(encoderDir).family,
    },
    projector: { spec: projectorSpecOf(spec, trained.projector), weights: trained.projector },
    lora:
      spec.lora && hasLora
        ? { rank: spec.lora.rank, alpha: spec.lora.alpha, targets: spec.lora.targets, weights: trained.lora }
        : null,
  };
}

/** The commit (or branch) the run recorded for a repo id: what it trained on. */
function revisionOf(revision: string | undefined): { revision?: string } {
  return revision ? { revision } : {};
}

async function pickStep(bucket: Bucket, runId: string, wanted: number | undefined): Promise<number> {
  const steps = await checkpointSteps(bucket, runId);
  if (steps.length === 0) {
    throw new TrainedRunError(
      'conflict',
      `run ${runId} has no complete checkpoint yet; wait for one (checkpointEvery, or the end of the run)`,
    );
  }
  if (wanted === undefined) return steps.at(-1)!;
  if (!steps.includes(wanted)) {
    throw new TrainedRunError(
      'not_found',
      `run ${runId} has no checkpoint at step ${wanted}; it has: ${steps.join(', ')}`,
    );
  }
  return wanted;
}

/** The checkpoint's trainable weights, under our names, split into projector and LoRA. */
async function readTrainedWeights(bucket: Bucket, runId: string, step: number) {
  const key = checkpointKey(runId, step, 'weights');
  const bytes = await bucket.getBuffer(key);
  const header = parseSafetensorsHeader(bytes, key);
  const projector: Record<string, HostTensor<'float32'>> = {};
  const lora: Record<string, HostTensor<'float32'>> = {};
  for (const [name, placement] of Object.entries(header.placements)) {
    const tensor = tensorAt(bytes, placement);
    if (tensor.dtype !== 'float32')
      throw new TrainedRunError('validation', `${key}: ${name} is ${tensor.dtype}, want float32`);
    const ours = oursFromExportName(name);
    (ours.startsWith('lora.') ? lora : projector)[ours] = tensor as HostTensor<'float32'>;
  }
  return { projector, lora };
}

/**
 * The encoder spec: the run's own, else the encoder.json recorded for its key (the spec's, else the
 * one the run's state learned from the features service). `override` replaces only the checkpoint;
 * everything that decides the feature numbers still comes from the run.
 */
async function encoderSpecOf(
  bucket: Bucket,
  spec: RunSpec,
  state: RunState | null,
  override?: string,
): Promise<EncoderSpec> {
  let known: EncoderSpec | undefined = spec.encoder.spec;
  const key = spec.encoder.key ?? state?.encoderKey ?? undefined;
  if (!known && key) {
    const record = await readEncoderRecord(bucket, key);
    const parsed = record ? EncoderSpecSchema.safeParse(record.spec) : undefined;
    if (parsed?.success) known = parsed.data;
  }
  // Another checkpoint: the recorded commit was the old one's.
  if (override)
    return EncoderSpecSchema.parse({ ...(known ?? {}), checkpoint: override, revision: undefined });
  if (known) return known;
  throw new TrainedRunError(
    'validation',
    `run names no encoder checkpoint (encoder.key ${key ?? '-'} has no usable encoder.json); ` +
      'pass the encoder checkpoint the features were computed with (e.g. mmit export --encoder <folder or repo id>)',
  );
}

function projectorSpecOf(spec: RunSpec, weights: Record<string, HostTensor<'float32'>>): ProjectorSpec {
  const first = weights['projector.linear_1.weight'];
  if (!first) {
    throw new TrainedRunError(
      'validation',
      `the checkpoint has no multi_modal_projector.linear_1.weight (has: ${Object.keys(weights).join(', ') || 'nothing'})`,
    );
  }
  const [outputDim, inputDim] = first.dims;
  return { type: spec.projector.type, inputDim, outputDim };
}
