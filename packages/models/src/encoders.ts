// The encoder registry: the one place that says which encoder a checkpoint is. A family names its
// kind (the feature cache's `EncoderKind`), what it encodes, and which `model_type`s it answers to;
// `detectEncoder` reads a checkpoint's config.json once for features, serve, export and `mmit
// verify`. Vision towers open through the same table. A new encoder is one entry here plus its
// own graph module (clip.ts, siglip.ts, whisper.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EncoderKind, Modality } from '@mmit/contracts';
import type { Graph } from '@mmit/tensor';
import {
  buildClipVisionGraph,
  type ClipVisionTower,
  openClipVisionTower,
  type TowerOptions,
} from './clip.js';
import { buildSiglipVisionGraph, openSiglipVisionTower, type SiglipVisionTower } from './siglip.js';
import type { VisionRequest } from './vision-tower.js';

export interface EncoderFamily {
  kind: EncoderKind;
  modality: Modality;
  /** Whether a config's `model_type` (its vision/audio config's, if nested) is this family. */
  matches(modelType: string): boolean;
  /** The model_types users write, for error messages. */
  modelTypes: string[];
}

export const ENCODER_FAMILIES: readonly EncoderFamily[] = [
  {
    kind: 'clip',
    modality: 'image',
    // A LLaVA checkpoint whose vision_config names no type carries a CLIP tower (LLaVA-1.5's).
    matches: (t) => t.startsWith('clip') || t === 'llava',
    modelTypes: ['clip', 'clip_vision_model', 'llava'],
  },
  {
    kind: 'siglip',
    modality: 'image',
    matches: (t) => t.startsWith('siglip'),
    modelTypes: ['siglip', 'siglip_vision_model'],
  },
  {
    kind: 'whisper',
    modality: 'audio',
    matches: (t) => t.startsWith('whisper'),
    modelTypes: ['whisper'],
  },
];

export class UnsupportedEncoderError extends Error {
  override name = 'UnsupportedEncoderError';
}

export interface DetectedEncoder {
  family: EncoderFamily;
  /** The model_type it was detected by. */
  modelType: string;
}

/** The encoder family of a checkpoint folder, from its config.json (nested vision/audio config first). */
export function detectEncoder(
  dir: string,
  allowed: readonly EncoderFamily[] = ENCODER_FAMILIES,
): DetectedEncoder {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const nested = (config.vision_config ?? config.audio_config ?? {}) as Record<string, unknown>;
  const modelType = String(nested.model_type ?? config.model_type ?? '');
  const family = allowed.find((f) => f.matches(modelType));
  if (!family) {
    const valid = allowed.flatMap((f) => f.modelTypes).join(', ');
    throw new UnsupportedEncoderError(
      `${dir}: model_type '${modelType}' is not a supported encoder; valid: ${valid}`,
    );
  }
  return { family, modelType };
}

// ---- vision towers -----------------------------------------------------------------------------

export type VisionTower = ClipVisionTower | SiglipVisionTower;

const towerOpeners = { clip: openClipVisionTower, siglip: openSiglipVisionTower } as const;
const visionFamilies = ENCODER_FAMILIES.filter((f) => f.modality === 'image');

/** Opens the CLIP or SigLIP tower of a checkpoint folder, by its detected family. */
export function openVisionTower(dir: string, options: TowerOptions = {}): VisionTower {
  const { family } = detectEncoder(dir, visionFamilies);
  return towerOpeners[family.kind as keyof typeof towerOpeners](dir, options);
}

export function buildVisionGraph(tower: VisionTower, request: VisionRequest): Graph {
  return tower.kind === 'clip'
    ? buildClipVisionGraph(tower, request)
    : buildSiglipVisionGraph(tower, request);
}
