// Resolves an encoder spec against its checkpoint: which encoder it is (by config.json's
// model_type), the hash of its weights, its preprocessing with every default filled in, and so
// its identity and encoder key. `open` then opens the session for a job, through the models
// package's openEncoderSession (the one serve encodes with too).
// Checkpoint paths may be confined to configured folders (MMIT_FEATURES_MODEL_ROOTS): a request
// must not make the service read arbitrary files.
import { isAbsolute, relative, resolve } from 'node:path';
import {
  type EncoderIdentity,
  type EncoderKind,
  type EncoderSpec,
  encoderKeyOf,
  FEATURE_FORMAT_VERSION,
} from '@mmit/features';
import {
  detectEncoder,
  type HubProgress,
  loadImageProcessor,
  loadWhisperFeatureConfig,
  openEncoderSession,
  openVisionTower,
  openWhisperEncoder,
  resolveCheckpoint,
  UnsupportedEncoderError,
  windowSizes,
} from '@mmit/models';
import type { ExecutionProvider } from '@mmit/tensor';
import { AudioRunner } from './audio.js';
import type { EncoderRunner } from './runner.js';
import { VisionRunner } from './vision.js';
import { encoderWeightsSha256 } from './weights-hash.js';

export class EncoderSpecError extends Error {
  readonly problemCode = 'validation';
  override name = 'EncoderSpecError';
  /** The request field at fault (`encoder.checkpoint`, ...), for the problem's `errors`. */
  constructor(
    message: string,
    readonly problemField?: string,
  ) {
    super(message);
  }
}

export interface ResolvedEncoder {
  key: string;
  identity: EncoderIdentity;
  spec: EncoderSpec;
  /** The checkpoint folder. */
  dir: string;
  open(options: { ep: ExecutionProvider; threads?: number }): Promise<EncoderRunner>;
}

export interface ResolveOptions {
  /** Folders checkpoint paths must lie in; empty: any folder. */
  modelRoots?: string[];
  /** A repo id's download as it goes (a job puts it into its progress message). */
  onProgress?: (progress: HubProgress) => void;
}

/** The encoder a checkpoint folder holds, by the models package's registry. */
export function kindOf(dir: string): EncoderKind {
  try {
    return detectEncoder(dir).family.kind;
  } catch (err) {
    if (err instanceof UnsupportedEncoderError) throw new EncoderSpecError(err.message);
    throw err;
  }
}

export function checkInsideRoots(path: string, roots: string[], field?: string): void {
  if (roots.length === 0) return;
  const target = resolve(path);
  const inside = roots.some((root) => {
    const rel = relative(resolve(root), target);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  });
  if (!inside) {
    throw new EncoderSpecError(
      `${path} is outside the folders this service may read models from (MMIT_FEATURES_MODEL_ROOTS)`,
      field,
    );
  }
}

export async function resolveEncoder(
  spec: EncoderSpec,
  options: ResolveOptions = {},
): Promise<ResolvedEncoder> {
  const roots = options.modelRoots ?? [];
  const isPath = spec.checkpoint.startsWith('/') || spec.checkpoint.startsWith('.');
  if (isPath) checkInsideRoots(spec.checkpoint, roots, 'body.encoder.checkpoint');
  if (spec.processor) checkInsideRoots(spec.processor, roots, 'body.encoder.processor');
  let dir: string;
  try {
    dir = await resolveCheckpoint(spec.checkpoint, {
      ...(spec.revision ? { revision: spec.revision } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } catch (err) {
    throw new EncoderSpecError((err as Error).message);
  }
  const kind = kindOf(dir);
  return kind === 'whisper' ? resolveAudio(spec, dir) : resolveVision(spec, dir, kind);
}

function resolveVision(spec: EncoderSpec, dir: string, kind: EncoderKind): ResolvedEncoder {
  const tower = openVisionTower(dir, { prefix: spec.prefix });
  try {
    const plan = loadImageProcessor(spec.processor ?? dir);
    const identity: EncoderIdentity = {
      format: FEATURE_FORMAT_VERSION,
      kind,
      modality: 'image',
      weightsSha256: encoderWeightsSha256(dir, tower.weights.prefix),
      architecture: { ...tower.config },
      layer: spec.visionFeatureLayer,
      select: spec.select,
      preprocessing: { ...plan },
      dtype: spec.dtype,
      compute: spec.compute,
    };
    return {
      key: encoderKeyOf(identity),
      identity,
      spec,
      dir,
      open: (options) => openRunner(spec, dir, options),
    };
  } finally {
    tower.weights.close();
  }
}

function resolveAudio(spec: EncoderSpec, dir: string): ResolvedEncoder {
  const encoder = openWhisperEncoder(dir, { prefix: spec.prefix });
  try {
    const config = loadWhisperFeatureConfig(spec.processor ?? dir);
    const identity: EncoderIdentity = {
      format: FEATURE_FORMAT_VERSION,
      kind: 'whisper',
      modality: 'audio',
      weightsSha256: encoderWeightsSha256(dir, encoder.weights.prefix),
      architecture: { ...encoder.config },
      layer: null,
      select: null,
      preprocessing: { ...config, windowSamples: windowSizes(config).nSamples },
      dtype: spec.dtype,
      compute: spec.compute,
    };
    return {
      key: encoderKeyOf(identity),
      identity,
      spec,
      dir,
      open: (options) => openRunner(spec, dir, options),
    };
  } finally {
    encoder.weights.close();
  }
}

/** A job's runner: the encoder's session opened exactly as the spec says, as serve opens it. */
async function openRunner(
  spec: EncoderSpec,
  dir: string,
  options: { ep: ExecutionProvider; threads?: number },
): Promise<EncoderRunner> {
  const opened = await openEncoderSession(
    spec,
    { checkpointDir: dir, processorDir: spec.processor ?? dir },
    // A fallback to cpu is reported on the job (runner.fallbackReason) and in metrics, not logged.
    { ...options, log: () => {} },
  );
  return opened.modality === 'image' ? new VisionRunner(opened, spec) : new AudioRunner(opened, spec);
}
