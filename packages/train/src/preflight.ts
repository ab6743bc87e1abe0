// Checks of a spec against the world, done when a run is created (so a bad spec is a 400, not
// a failed run an hour later) and again when it starts: the dataset exists, the LM loads and its
// tokenizer has the image token, and the encoder's feature width equals the projector's input.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keys, type Modality, modalityOfEncoderKey, type RunSpec } from '@mmit/contracts';
import { readEncoderRecord } from '@mmit/features';
import {
  detectEncoder,
  type HubOptions,
  hiddenStateIndex,
  isRepoId,
  type LanguageModel,
  languageModelFromCheckpoint,
  loadTokenizer,
  openCheckpointFolder,
  resolveHubCheckpoint,
  type Tokenizer,
} from '@mmit/models';
import type { Bucket } from '@mmit/storage';
import { datasetExists, UnknownDatasetError } from './dataset.js';

export class MissingImageTokenError extends Error {
  readonly problemCode = 'validation';
  override name = 'MissingImageTokenError';
}

export class DimensionMismatchError extends Error {
  readonly problemCode = 'validation';
  override name = 'DimensionMismatchError';
}

export class LmLoadError extends Error {
  readonly problemCode = 'validation';
  override name = 'LmLoadError';
  readonly problemField = 'body.lm.checkpoint';
}

/** encoder.key names no cached features (404, with the field). */
export class UnknownEncoderKeyError extends Error {
  readonly problemCode = 'not_found';
  override name = 'UnknownEncoderKeyError';
  readonly problemField = 'body.encoder.key';
  constructor(readonly encoderKey: string) {
    super(`no features are cached under encoder key ${encoderKey} (GET /v1/features lists them)`);
  }
}

/** encoder.spec cannot work: its checkpoint is not an encoder folder, or a layer does not exist. */
export class EncoderSpecInvalidError extends Error {
  readonly problemCode = 'validation';
  override name = 'EncoderSpecInvalidError';
  constructor(
    message: string,
    readonly problemField: string,
  ) {
    super(message);
  }
}

export interface Preflight {
  lm: LanguageModel;
  tokenizer: Tokenizer;
  imageTokenId: number;
  /** The encoder's feature width when it can be known before features exist; else null. */
  encoderWidth: number | null;
  /** The modality the encoder reads, when it can be known before features exist; else null. */
  encoderModality: Modality | null;
  /** The commits hub checkpoints resolved to (null: a folder, or an encoder not cached yet). */
  commits: { lm: string | null; encoder: string | null };
}

/**
 * The spec with the commits its repo ids resolved to written in, so every later reader (a
 * resume, serve, export) opens exactly the files this run was checked and trained against.
 */
export function pinRevisions(spec: RunSpec, commits: Preflight['commits']): RunSpec {
  const encoder = spec.encoder.spec;
  return {
    ...spec,
    lm: commits.lm ? { ...spec.lm, revision: commits.lm } : spec.lm,
    encoder:
      encoder && commits.encoder
        ? { ...spec.encoder, spec: { ...encoder, revision: commits.encoder } }
        : spec.encoder,
  };
}

/** Feature width from an encoder checkpoint's config.json (CLIP/SigLIP vision, Whisper, LLaVA). */
export function encoderWidthFromConfig(
  config: Record<string, unknown>,
  layers: number | number[],
): number | null {
  const vision = (config.vision_config ?? config) as Record<string, unknown>;
  const width = typeof vision.hidden_size === 'number' ? vision.hidden_size : config.d_model;
  if (typeof width !== 'number') return null;
  return Array.isArray(layers) ? width * layers.length : width;
}

/** Layers named by encoder.spec exist in the encoder's config (vision towers; Whisper has none). */
function checkLayers(config: Record<string, unknown>, layers: number | number[]): void {
  if (config.model_type === 'whisper' || config.audio_config) return;
  const vision = (config.vision_config ?? config) as Record<string, unknown>;
  if (typeof vision.num_hidden_layers !== 'number') return;
  for (const layer of [layers].flat()) {
    try {
      hiddenStateIndex(layer, vision.num_hidden_layers);
    } catch (err) {
      throw new EncoderSpecInvalidError((err as Error).message, 'body.encoder.spec.visionFeatureLayer');
    }
  }
}

interface EncoderFacts {
  width: number | null;
  modality: Modality | null;
  commit: string | null;
}

async function encoderFacts(bucket: Bucket, spec: RunSpec): Promise<EncoderFacts> {
  const encoder = spec.encoder.spec;
  const keyModality = spec.encoder.key ? modalityOfEncoderKey(spec.encoder.key) : null;
  if (encoder) {
    let dir: string;
    let commit: string | null;
    try {
      // Offline: a repo id not cached yet is the features service's to download, not this request's.
      ({ dir, commit } = await resolveHubCheckpoint(encoder.checkpoint, {
        offline: true,
        ...(encoder.revision ? { revision: encoder.revision } : {}),
      }));
    } catch (err) {
      if (isRepoId(encoder.checkpoint) && !encoder.checkpoint.startsWith('.'))
        return { width: null, modality: keyModality, commit: null };
      throw new EncoderSpecInvalidError((err as Error).message, 'body.encoder.spec.checkpoint');
    }
    let config: Record<string, unknown>;
    try {
      config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      throw new EncoderSpecInvalidError(
        `${encoder.checkpoint}: config.json is not readable JSON`,
        'body.encoder.spec.checkpoint',
      );
    }
    checkLayers(config, encoder.visionFeatureLayer);
    return {
      width: encoderWidthFromConfig(config, encoder.visionFeatureLayer),
      // The encoder registry says what it reads (Whisper: audio; the vision towers: image).
      modality: keyModality ?? detectEncoder(dir).family.modality,
      commit,
    };
  }
  if (spec.encoder.key) {
    const record = await readEncoderRecord(bucket, spec.encoder.key);
    const arch = record?.identity.architecture as Record<string, unknown> | undefined;
    return {
      width: arch ? encoderWidthFromConfig(arch, record?.identity.layer ?? -2) : null,
      modality: record?.identity.modality ?? keyModality,
      commit: null,
    };
  }
  return { width: null, modality: null, commit: null };
}

/** encoder.key alone must name features that exist (with a spec too, the job may make them). */
async function checkEncoderKey(bucket: Bucket, spec: RunSpec): Promise<void> {
  const key = spec.encoder.key;
  if (!key || spec.encoder.spec) return;
  for await (const _ of bucket.list(keys.featuresPrefix(key))) return; // something is cached under it
  throw new UnknownEncoderKeyError(key);
}

export async function openLm(
  spec: RunSpec,
  hub: HubOptions = {},
): Promise<{ lm: LanguageModel; tokenizer: Tokenizer; commit: string | null }> {
  let dir: string;
  let commit: string | null;
  try {
    ({ dir, commit } = await resolveHubCheckpoint(spec.lm.checkpoint, {
      ...hub,
      ...(spec.lm.revision ? { revision: spec.lm.revision } : {}),
    }));
  } catch (err) {
    throw new LmLoadError(`lm.checkpoint ${spec.lm.checkpoint} cannot be opened: ${(err as Error).message}`);
  }
  try {
    const lm = languageModelFromCheckpoint(openCheckpointFolder(dir));
    const tokenizer = loadTokenizer(spec.lm.tokenizer ?? dir);
    return { lm, tokenizer, commit };
  } catch (err) {
    throw new LmLoadError(`lm.checkpoint ${spec.lm.checkpoint}: ${(err as Error).message}`);
  }
}

export function imageTokenIdOf(tokenizer: Tokenizer, lm: LanguageModel, spec: RunSpec): number {
  const token = spec.lm.imageToken;
  let id: number;
  try {
    id = tokenizer.tokenId(token);
  } catch {
    throw new MissingImageTokenError(
      `the tokenizer of ${spec.lm.checkpoint} has no ${JSON.stringify(token)} token. Add it as a special token and ` +
        `grow the embeddings, e.g. in transformers: tokenizer.add_special_tokens({"additional_special_tokens": ["${token}"]}); ` +
        'model.resize_token_embeddings(len(tokenizer)); save both; or set lm.imageToken to a special token the tokenizer has',
    );
  }
  if (id >= lm.config.vocabSize) {
    throw new MissingImageTokenError(
      `${JSON.stringify(token)} has id ${id} but the LM's embedding table has ${lm.config.vocabSize} rows: resize the embeddings (model.resize_token_embeddings(len(tokenizer))) and save the checkpoint`,
    );
  }
  return id;
}

export function checkProjectorInput(spec: RunSpec, width: number | null, where: string): void {
  const wanted = spec.projector.inputDim;
  if (width !== null && wanted !== undefined && wanted !== width) {
    throw new DimensionMismatchError(
      `projector.inputDim is ${wanted} but the encoder's features are ${width} wide (${where}); drop inputDim or pick the matching encoder`,
    );
  }
}

/** `hub` reaches the LM's download (its progress, for a caller that shows it). */
export async function preflight(bucket: Bucket, spec: RunSpec, hub: HubOptions = {}): Promise<Preflight> {
  if (!(await datasetExists(bucket, spec.datasetId))) throw new UnknownDatasetError(spec.datasetId);
  await checkEncoderKey(bucket, spec);
  const { lm, tokenizer, commit } = await openLm(spec, hub);
  const imageTokenId = imageTokenIdOf(tokenizer, lm, spec);
  const encoder = await encoderFacts(bucket, spec);
  checkProjectorInput(spec, encoder.width, 'from the encoder config');
  return {
    lm,
    tokenizer,
    imageTokenId,
    encoderWidth: encoder.width,
    encoderModality: encoder.modality,
    commits: { lm: commit, encoder: encoder.commit },
  };
}
