// Media to LM embedding rows: encoder (CLIP/SigLIP vision tower or Whisper's audio encoder) ->
// the run's projector, two sessions. The encoder runs the way the run's features were made: its
// session comes from the run's EncoderSpec through openEncoderSession (layer, selection, processor,
// prefix, the graph's compute precision), the one the features service opens its runners with, and
// its output is rounded to the dtype the features were stored in (the projector saw that rounding
// in training), so a served image gives the rows the projector was trained on. Output: (N, d) rows
// per item, in the order they replace the media token. Audio: the first 30 s window only, cut to
// the encoder frames that saw audio (the mask the feature service stores); longer clips are
// refused by the caller.

import type { EncoderSpec, Modality, StorageDType } from '@mmit/contracts';
import {
  type AudioEncoderSession,
  applyProjector,
  type EncoderFolders,
  encoderFramesFor,
  openEncoderSession,
  type ProjectorSpec,
  preprocessImages,
  type VisionEncoderSession,
  visionOutputs,
  whisperLogMel,
  windowSizes,
} from '@mmit/models';
import {
  createSession,
  type ExecutionProvider,
  float16ToFloat32,
  float32ToFloat16,
  Graph,
  type HostTensor,
  type Session,
} from '@mmit/tensor';

export type { Modality };

/**
 * What a run says about its encoder: the spec its features were made with, whole (layer, selection,
 * prefix, the graph's compute precision, the stored dtype), and its folders, resolved.
 */
export interface EncoderSetup extends EncoderFolders {
  spec: EncoderSpec;
}

/** An encoder output as the feature cache would have held it (float16 storage rounds it). */
function asStored(data: Float32Array, dtype: StorageDType): Float32Array {
  return dtype === 'float16' ? float16ToFloat32(float32ToFloat16(data)) : data;
}

export interface ProjectorSetup {
  spec: ProjectorSpec;
  /** Our names (`projector.linear_1.weight`, ...). */
  weights: Record<string, HostTensor<'float32'>>;
}

export interface MediaRows {
  rows: number;
  width: number;
  data: Float32Array;
}

export interface MediaEncoder {
  readonly modality: Modality;
  /** Rows one image gives (fixed for vision); null for audio, whose rows follow its length. */
  readonly rowsPerItem: number | null;
  /** Longest audio clip in samples at `sampleRate` (audio only). */
  readonly maxSamples: number;
  readonly sampleRate: number;
  encodeImages(images: Uint8Array[]): Promise<MediaRows[]>;
  encodeAudio(pcm: Float32Array): Promise<MediaRows>;
  release(): Promise<void>;
}

export class MediaEncoderError extends Error {
  override name = 'MediaEncoderError';
}

/** features (rows, dv) -> embeds (rows, d), the trained weights as initializers. */
function projectorGraph(setup: ProjectorSetup): Graph {
  const g = new Graph(`projector-${setup.spec.type}`);
  const features = g.input('features', 'float32', ['rows', setup.spec.inputDim]);
  const params = Object.fromEntries(
    Object.entries(setup.weights).map(([name, t]) => [name, g.initializer(name, t)]),
  );
  g.output('embeds', applyProjector(setup.spec, params, features));
  return g;
}

async function project(
  session: Session,
  features: Float32Array,
  rows: number,
  width: number,
): Promise<MediaRows> {
  const out = await session.run({ features: { dtype: 'float32', dims: [rows, width], data: features } });
  const embeds = out.embeds;
  return { rows, width: embeds.dims[1], data: embeds.data as Float32Array };
}

export async function openMediaEncoder(
  encoder: EncoderSetup,
  projector: ProjectorSetup,
  ep: ExecutionProvider,
  threads?: number,
): Promise<MediaEncoder> {
  // The encoder's session as the features service opens it, so served rows are the trained-on rows.
  const opened = await openEncoderSession(encoder.spec, encoder, { ep, threads });
  let projection: Session;
  try {
    projection = await createSession(projectorGraph(projector), { ep, threads, cache: false });
  } catch (err) {
    await opened.session.release();
    throw err;
  }
  return opened.modality === 'image'
    ? visionEncoder(opened, encoder.spec.dtype, projector, projection)
    : audioEncoder(opened, encoder.spec.dtype, projector, projection);
}

function visionEncoder(
  opened: VisionEncoderSession,
  dtype: StorageDType,
  projector: ProjectorSetup,
  projection: Session,
): MediaEncoder {
  const { session, plan } = opened;
  return {
    modality: 'image',
    rowsPerItem: opened.rowsPerImage,
    maxSamples: 0,
    sampleRate: 0,
    async encodeImages(images) {
      const pixels = await preprocessImages(images, plan);
      const features = (await session.run({ pixel_values: pixels }))[visionOutputs.features];
      const [count, rows, width] = features.dims;
      if (width !== projector.spec.inputDim) {
        throw new MediaEncoderError(
          `the encoder gives ${width}-wide features but the projector takes ${projector.spec.inputDim}`,
        );
      }
      const stored = asStored(features.data as Float32Array, dtype);
      const all = await project(projection, stored, count * rows, width);
      const per = rows * all.width;
      return Array.from({ length: count }, (_, i) => ({
        rows,
        width: all.width,
        data: all.data.subarray(i * per, (i + 1) * per),
      }));
    },
    encodeAudio() {
      return Promise.reject(new MediaEncoderError('this model takes images, not audio'));
    },
    async release() {
      await Promise.all([session.release(), projection.release()]);
    },
  };
}

function audioEncoder(
  opened: AudioEncoderSession,
  dtype: StorageDType,
  projector: ProjectorSetup,
  projection: Session,
): MediaEncoder {
  const { session, config, positions } = opened;
  return {
    modality: 'audio',
    rowsPerItem: null,
    maxSamples: windowSizes(config).nSamples,
    sampleRate: config.sampling_rate,
    encodeImages() {
      return Promise.reject(new MediaEncoderError('this model takes audio, not images'));
    },
    async encodeAudio(pcm) {
      const mel = whisperLogMel(pcm, config);
      const out = await session.run({
        input_features: { dtype: 'float32', dims: [1, mel.nMels, mel.nFrames], data: mel.data },
      });
      const hidden = out.last_hidden_state; // (1, P, D)
      const width = hidden.dims[2];
      if (width !== projector.spec.inputDim) {
        throw new MediaEncoderError(
          `the encoder gives ${width}-wide features but the projector takes ${projector.spec.inputDim}`,
        );
      }
      const rows = Math.min(positions, encoderFramesFor(mel.realFrames));
      const stored = asStored((hidden.data as Float32Array).subarray(0, rows * width), dtype);
      return project(projection, stored, rows, width);
    },
    async release() {
      await Promise.all([session.release(), projection.release()]);
    },
  };
}
