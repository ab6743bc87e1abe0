// What a feature job's encoder spec can be checked for when it is submitted, cheaply (no weights
// hashed, no graph built): the checkpoint is a readable encoder folder inside the allowed model
// roots, the processor folder is readable, and the requested hidden-state layers exist. A bad
// spec is then a 400 naming the field, not a job that fails later. A Hugging Face repo id that is
// not cached yet is accepted as it is: the job downloads it (and says so if it cannot).
// Messages never tell a caller which server folders exist, only that this one is not usable.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { EncoderSpec } from '@mmit/features';
import {
  hiddenStateIndex,
  isRepoId,
  loadImageProcessor,
  loadWhisperFeatureConfig,
  openVisionTower,
  resolveCheckpoint,
} from '@mmit/models';
import { checkInsideRoots, EncoderSpecError, kindOf } from './resolve.js';

function isFolderWith(dir: string, file: string): boolean {
  try {
    return statSync(dir).isDirectory() && existsSync(join(dir, file));
  } catch {
    return false;
  }
}

async function checkpointFolder(spec: EncoderSpec): Promise<string | undefined> {
  const isPath = spec.checkpoint.startsWith('/') || spec.checkpoint.startsWith('.');
  if (isPath || !isRepoId(spec.checkpoint)) {
    if (isFolderWith(spec.checkpoint, 'config.json')) return spec.checkpoint;
    throw new EncoderSpecError(
      `${spec.checkpoint} is neither a checkpoint folder (config.json + safetensors) nor a Hugging Face repo id of the form owner/name`,
      'body.encoder.checkpoint',
    );
  }
  // Cached already? Otherwise the job downloads it.
  return resolveCheckpoint(spec.checkpoint, {
    offline: true,
    ...(spec.revision ? { revision: spec.revision } : {}),
  }).catch(() => undefined);
}

/** Throws EncoderSpecError (400, with the field) for a spec whose job could only fail. */
export async function checkEncoderSpec(spec: EncoderSpec, modelRoots: string[]): Promise<void> {
  const isPath = spec.checkpoint.startsWith('/') || spec.checkpoint.startsWith('.');
  if (isPath) checkInsideRoots(spec.checkpoint, modelRoots, 'body.encoder.checkpoint');
  if (spec.processor) checkInsideRoots(spec.processor, modelRoots, 'body.encoder.processor');
  const dir = await checkpointFolder(spec);
  if (!dir) return;
  let kind: string;
  try {
    kind = kindOf(dir);
  } catch (err) {
    const why =
      err instanceof EncoderSpecError ? err.message : `${spec.checkpoint}: config.json is not readable JSON`;
    throw new EncoderSpecError(why, 'body.encoder.checkpoint');
  }
  const processorDir = spec.processor ?? dir;
  try {
    if (kind === 'whisper') loadWhisperFeatureConfig(processorDir);
    else loadImageProcessor(processorDir);
  } catch {
    throw new EncoderSpecError(
      `${processorDir} is not a processor folder with a readable preprocessor_config.json`,
      spec.processor ? 'body.encoder.processor' : 'body.encoder.checkpoint',
    );
  }
  if (kind === 'whisper') return;
  let numLayers: number;
  try {
    const tower = openVisionTower(dir, { prefix: spec.prefix });
    numLayers = tower.config.numLayers;
    tower.weights.close();
  } catch (err) {
    throw new EncoderSpecError(`${spec.checkpoint}: ${(err as Error).message}`, 'body.encoder.checkpoint');
  }
  for (const layer of [spec.visionFeatureLayer].flat()) {
    try {
      hiddenStateIndex(layer, numLayers);
    } catch (err) {
      throw new EncoderSpecError((err as Error).message, 'body.encoder.visionFeatureLayer');
    }
  }
}
