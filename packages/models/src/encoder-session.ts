// The one way to open a media encoder for running: from its encoder spec (the checkpoint's
// weight prefix, the vision layer and token selection, the graph's compute precision) and its
// resolved folders, the ONNX session of the CLIP/SigLIP tower or Whisper encoder plus the
// preprocessing its inputs need. The features service computes the features a projector trains
// on through it, and serve encodes the media it answers about through it, so the two cannot drift
// apart: a spec field read by one and not the other is exactly the skew that makes a served
// model see other numbers than it was trained on.
//
// Limits: the spec's `dtype` (how features are stored) is not applied here; the session's output
// is float32, and each caller rounds it the way its storage does. Checkpoints and processors must
// already be local folders (hub ids and the features service's folder rules are resolved first).
import type { EncoderKind, EncoderSpec } from '@mmit/contracts';
import { createSession, type ExecutionProvider, type Session } from '@mmit/tensor';
import { buildVisionGraph, detectEncoder, openVisionTower } from './encoders.js';
import { type ImageProcessorPlan, loadImageProcessor } from './image-processor.js';
import { loadWhisperFeatureConfig, type WhisperFeatureConfig } from './log-mel.js';
import { dropsFirstToken } from './vision-tower.js';
import { buildWhisperEncoderGraph, openWhisperEncoder } from './whisper.js';

/** The spec fields that decide an encoder's graph. */
export type EncoderSessionSpec = Pick<EncoderSpec, 'visionFeatureLayer' | 'select' | 'prefix' | 'compute'>;

/** Where a spec's checkpoint and processor are on disk. */
export interface EncoderFolders {
  /** The checkpoint (config.json + safetensors). */
  checkpointDir: string;
  /** The folder with preprocessor_config.json (the checkpoint's own unless the spec names another). */
  processorDir: string;
}

export interface EncoderSessionOptions {
  ep: ExecutionProvider;
  threads?: number;
  /** Where a fallback to another execution provider is reported (default console.warn). */
  log?: (message: string) => void;
}

/** A vision tower: `pixel_values` (B, 3, H, W) -> `visionOutputs.features` (B, rowsPerImage, D). */
export interface VisionEncoderSession {
  readonly modality: 'image';
  readonly kind: Exclude<EncoderKind, 'whisper'>;
  readonly session: Session;
  /** How to turn an image into `pixel_values`. */
  readonly plan: ImageProcessorPlan;
  /** Feature rows per image: the patches, plus CLS when the selection keeps it. */
  readonly rowsPerImage: number;
}

/** Whisper's encoder: `input_features` (B, mels, frames) -> `last_hidden_state` (B, positions, D). */
export interface AudioEncoderSession {
  readonly modality: 'audio';
  readonly kind: 'whisper';
  readonly session: Session;
  /** How to turn 16 kHz mono samples into a log-mel window. */
  readonly config: WhisperFeatureConfig;
  /** Encoder frames per 30 s window. */
  readonly positions: number;
}

export type EncoderSession = VisionEncoderSession | AudioEncoderSession;

/**
 * Opens the session of the encoder in `folders.checkpointDir` (which one, by the encoder registry)
 * as `spec` says. The graph's weights become initializers, so the checkpoint's files are closed
 * before this returns. Release the session when done.
 */
export async function openEncoderSession(
  spec: EncoderSessionSpec,
  folders: EncoderFolders,
  options: EncoderSessionOptions,
): Promise<EncoderSession> {
  const settings = {
    ep: options.ep,
    threads: options.threads,
    float16: spec.compute === 'float16',
    // The graph is built afresh for each opener, so a cached session could never be found again;
    // the caller owns this one and releases it.
    cache: false,
    ...(options.log ? { log: options.log } : {}),
  };
  const weights = spec.prefix ? { prefix: spec.prefix } : {};
  const { family } = detectEncoder(folders.checkpointDir);
  // Preprocessing is read before the session opens, so a bad processor folder leaks no session.
  if (family.modality === 'image') {
    const plan = loadImageProcessor(folders.processorDir);
    const tower = openVisionTower(folders.checkpointDir, weights);
    let session: Session;
    try {
      const features = { layer: spec.visionFeatureLayer, select: spec.select };
      session = await createSession(buildVisionGraph(tower, { features }), settings);
    } finally {
      tower.weights.close();
    }
    return {
      modality: 'image',
      kind: tower.kind,
      session,
      plan,
      rowsPerImage: tower.numPatches + (tower.kind === 'clip' && !dropsFirstToken(spec.select) ? 1 : 0),
    };
  }
  const config = loadWhisperFeatureConfig(folders.processorDir);
  const encoder = openWhisperEncoder(folders.checkpointDir, weights);
  let session: Session;
  try {
    session = await createSession(buildWhisperEncoderGraph(encoder), settings);
  } finally {
    encoder.weights.close();
  }
  return {
    modality: 'audio',
    kind: 'whisper',
    session,
    config,
    positions: encoder.config.positions,
  };
}
