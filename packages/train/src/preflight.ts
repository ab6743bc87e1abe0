// Checks of a spec against the world, done when a run is created (so a bad spec is a 400, not
// a failed run an hour later) and again when it starts: the dataset exists, the LM loads and its
// tokenizer has the image token, and the encoder's feature width equals the projector's input.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunSpec } from '@mmit/contracts';
import { readEncoderRecord } from '@mmit/features';
import {
  type LanguageModel,
  languageModelFromCheckpoint,
  loadTokenizer,
  openCheckpointFolder,
  resolveCheckpoint,
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
}

export interface Preflight {
  lm: LanguageModel;
  tokenizer: Tokenizer;
  imageTokenId: number;
  /** The encoder's feature width when it can be known before features exist; else null. */
  encoderWidth: number | null;
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

async function encoderWidth(bucket: Bucket, spec: RunSpec): Promise<number | null> {
  const encoder = spec.encoder.spec;
  if (encoder) {
    try {
      const dir = await resolveCheckpoint(encoder.checkpoint, {});
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      return encoderWidthFromConfig(config, encoder.visionFeatureLayer);
    } catch {
      return null; // the features service resolves the encoder; its failure will say why
    }
  }
  if (spec.encoder.key) {
    const record = await readEncoderRecord(bucket, spec.encoder.key);
    const arch = record?.identity.architecture as Record<string, unknown> | undefined;
    return arch ? encoderWidthFromConfig(arch, record?.identity.layer ?? -2) : null;
  }
  return null;
}

export async function openLm(spec: RunSpec): Promise<{ lm: LanguageModel; tokenizer: Tokenizer }> {
  let dir: string;
  try {
    dir = await resolveCheckpoint(spec.lm.checkpoint, {});
  } catch (err) {
    throw new LmLoadError(`lm.checkpoint ${spec.lm.checkpoint} cannot be opened: ${(err as Error).message}`);
  }
  try {
    const lm = languageModelFromCheckpoint(openCheckpointFolder(dir));
    const tokenizer = loadTokenizer(spec.lm.tokenizer ?? dir);
    return { lm, tokenizer };
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

export async function preflight(bucket: Bucket, spec: RunSpec): Promise<Preflight> {
  if (!(await datasetExists(bucket, spec.datasetId))) throw new UnknownDatasetError(spec.datasetId);
  const { lm, tokenizer } = await openLm(spec);
  const imageTokenId = imageTokenIdOf(tokenizer, lm, spec);
  const width = await encoderWidth(bucket, spec);
  checkProjectorInput(spec, width, 'from the encoder config');
  return { lm, tokenizer, imageTokenId, encoderWidth: width };
}
