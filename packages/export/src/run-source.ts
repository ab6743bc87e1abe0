// What an export needs from a training run, read from the bucket alone (no trainer service):
// the spec (`runs/<id>/spec.json`), one complete checkpoint's trainable weights
// (`checkpoints/step-N/weights.safetensors`, LLaVA / PEFT names, mapped back to ours), and the
// local folders of the LM, its tokenizer, the vision encoder and its image processor. The
// encoder comes from the spec's `encoder.spec`, else from the `encoder.json` record the features
// service wrote for `encoder.key`, else from the caller. An `ExportRun` can also be built by hand
// (a library caller with weights in memory); nothing downstream touches the bucket.
import { keys } from '@mmit/contracts';
import {
  type EncoderSpec,
  EncoderSpecSchema,
  parseSafetensorsHeader,
  readEncoderRecord,
  tensorAt,
} from '@mmit/features';
import {
  type FeatureSelect,
  type HubOptions,
  type LoraTarget,
  type ProjectorSpec,
  resolveCheckpoint,
} from '@mmit/models';
import type { Bucket } from '@mmit/storage';
import type { HostTensor } from '@mmit/tensor';
import { checkpointKey, checkpointSteps, oursFromExportName, type RunSpec, RunSpecSchema } from '@mmit/train';
import { ExportError } from './errors.js';

export interface ExportEncoder {
  /** The encoder checkpoint as the spec names it (folder or repo id), for messages and configs. */
  checkpoint: string;
  /** Its local folder. */
  dir: string;
  /** Where the tower's weights live inside a checkpoint holding several (as in the encoder spec). */
  prefix?: string;
  /** HF `vision_feature_layer`. */
  layer: number | number[];
  select: FeatureSelect;
  /** Folder with preprocessor_config.json. */
  processorDir: string;
}

export interface ExportLora {
  rank: number;
  alpha: number;
  targets: LoraTarget[];
  /** Adapter matrices under our names (`lora.layers.3.attn.q.A` (r, in), `.B` (out, r)). */
  weights: Record<string, HostTensor<'float32'>>;
}

export interface ExportRun {
  runId: string;
  step: number;
  spec: RunSpec;
  lmDir: string;
  tokenizerDir: string;
  encoder: ExportEncoder;
  projector: { spec: ProjectorSpec; weights: Record<string, HostTensor<'float32'>> };
  lora: ExportLora | null;
}

export interface LoadRunOptions {
  /** Checkpoint step to export (default: the latest complete one). */
  step?: number;
  /** Encoder checkpoint to use when the run does not name one (or to override it). */
  encoder?: string;
  hub?: HubOptions;
}

async function readSpec(bucket: Bucket, runId: string): Promise<RunSpec> {
  const spec = await bucket.getJsonIfExists(keys.runSpec(runId), RunSpecSchema);
  if (!spec)
    throw new ExportError('not_found', `run ${runId} not found (no ${keys.runSpec(runId)} in the bucket)`);
  return spec;
}

async function pickStep(bucket: Bucket, runId: string, wanted: number | undefined): Promise<number> {
  const steps = await checkpointSteps(bucket, runId);
  if (steps.length === 0) {
    throw new ExportError(
      'conflict',
      `run ${runId} has no complete checkpoint yet; wait for one (checkpointEvery, or the end of the run)`,
    );
  }
  if (wanted === undefined) return steps.at(-1)!;
  if (!steps.includes(wanted)) {
    throw new ExportError(
      'not_found',
      `run ${runId} has no checkpoint at step ${wanted}; it has: ${steps.join(', ')}`,
    );
  }
  return wanted;
}

/** The checkpoint's trainable weights, under our names, split into projector and LoRA. */
async function readTrainedWeights(
  bucket: Bucket,
  runId: string,
  step: number,
): Promise<{
  projector: Record<string, HostTensor<'float32'>>;
  lora: Record<string, HostTensor<'float32'>>;
}> {
  const key = checkpointKey(runId, step, 'weights');
  const bytes = await bucket.getBuffer(key);
  const header = parseSafetensorsHeader(bytes, key);
  const projector: Record<string, HostTensor<'float32'>> = {};
  const lora: Record<string, HostTensor<'float32'>> = {};
  for (const [name, placement] of Object.entries(header.placements)) {
    const tensor = tensorAt(bytes, placement);
    if (tensor.dtype !== 'float32')
      throw new ExportError('validation', `${key}: ${name} is ${tensor.dtype}, want float32`);
    const ours = oursFromExportName(name);
    (ours.startsWith('lora.') ? lora : projector)[ours] = tensor as HostTensor<'float32'>;
  }
  return { projector, lora };
}

/**
 * The encoder spec: the run's own, else the one encoder.json recorded for its key. `override`
 * replaces only the checkpoint; layer and selection still come from the run (they decide what
 * the projector was trained on), or the spec defaults (-2, 'patch') when nothing records them.
 */
async function encoderSpecOf(bucket: Bucket, spec: RunSpec, override?: string): Promise<EncoderSpec> {
  let known: EncoderSpec | undefined = spec.encoder.spec;
  if (!known && spec.encoder.key) {
    const record = await readEncoderRecord(bucket, spec.encoder.key);
    const parsed = record ? EncoderSpecSchema.safeParse(record.spec) : undefined;
    if (parsed?.success) known = parsed.data;
  }
  if (override) return EncoderSpecSchema.parse({ ...(known ?? {}), checkpoint: override });
  if (known) return known;
  throw new ExportError(
    'validation',
    `the run names no encoder checkpoint (encoder.key ${spec.encoder.key ?? '-'} has no usable encoder.json); ` +
      'pass the vision encoder checkpoint the features were computed with (mmit export --encoder <folder or repo id>)',
  );
}

function projectorSpecOf(spec: RunSpec, weights: Record<string, HostTensor<'float32'>>): ProjectorSpec {
  const first = weights['projector.linear_1.weight'];
  if (!first) {
    throw new ExportError(
      'validation',
      `checkpoint has no multi_modal_projector.linear_1.weight (has: ${Object.keys(weights).join(', ') || 'nothing'})`,
    );
  }
  const [outputDim, inputDim] = first.dims;
  return { type: spec.projector.type, inputDim, outputDim };
}

export async function loadExportRun(
  bucket: Bucket,
  runId: string,
  options: LoadRunOptions = {},
): Promise<ExportRun> {
  const spec = await readSpec(bucket, runId);
  const step = await pickStep(bucket, runId, options.step);
  const trained = await readTrainedWeights(bucket, runId, step);
  const encoderSpec = await encoderSpecOf(bucket, spec, options.encoder);
  const resolve = async (what: string, idOrPath: string) => {
    try {
      return await resolveCheckpoint(idOrPath, options.hub);
    } catch (err) {
      throw new ExportError('not_found', `${what} ${idOrPath} cannot be opened: ${(err as Error).message}`);
    }
  };
  const lmDir = await resolve('lm.checkpoint', spec.lm.checkpoint);
  const encoderDir = await resolve('encoder checkpoint', encoderSpec.checkpoint);
  const hasLora = Object.keys(trained.lora).length > 0;
  if (hasLora && !spec.lora) {
    throw new ExportError(
      'validation',
      `checkpoint step ${step} of run ${runId} holds LoRA weights but the spec has no lora section`,
    );
  }
  return {
    runId,
    step,
    spec,
    lmDir,
    tokenizerDir: spec.lm.tokenizer ?? lmDir,
    encoder: {
      checkpoint: encoderSpec.checkpoint,
      dir: encoderDir,
      ...(encoderSpec.prefix !== undefined ? { prefix: encoderSpec.prefix } : {}),
      layer: encoderSpec.visionFeatureLayer,
      select: encoderSpec.select,
      processorDir: encoderSpec.processor ?? encoderDir,
    },
    projector: { spec: projectorSpecOf(spec, trained.projector), weights: trained.projector },
    lora:
      spec.lora && hasLora
        ? { rank: spec.lora.rank, alpha: spec.lora.alpha, targets: spec.lora.targets, weights: trained.lora }
        : null,
  };
}
