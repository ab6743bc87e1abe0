// Case runners for the encoder side of a golden-case folder (layout of shared/fixtures/hf-tiny):
// `vision_encoder` (case_clip: preprocessing from the PNG, then the tower on the stored
// pixel_values and random_pixel_values) and `audio_encoder` (case_whisper: log-mel from the
// audio, then the encoder on the stored input_features), plus the tower features that the
// LLaVA-with-CLIP case needs. Each stage runs on the reference's own input, so a preprocessing
// difference never hides or inflates a tower error. Models, sizes and requested outputs come
// from the case metadata, the tensors present and the checkpoint configs: nothing is fixed here.
import { join } from 'node:path';
import { createSession, type ExecutionProvider, type HostTensor, hostTensor, toNumbers } from '@mmit/tensor';
import { z } from 'zod';
import { buildVisionGraph, openVisionTower } from './encoders.js';
import { loadImageProcessor, preprocessImage } from './image-processor.js';
import { loadWhisperFeatureConfig, whisperLogMel } from './log-mel.js';
import {
  type CaseContext,
  type CaseRunner,
  type Measure,
  maxRelative,
  measure,
  tolerances,
} from './verify-measures.js';
import { type FeatureSelect, featureSelects, type VisionRequest, visionOutputs } from './vision-tower.js';
import { buildWhisperEncoderGraph, openWhisperEncoder } from './whisper.js';

/** The README's tolerances for pixel_values from the PNG (PIL and sharp resample slightly differently). */
export const pixelTolerances = { mean: 0.01, max: 0.05 } as const;

export interface ImageFeatureOptions {
  /** HF `vision_feature_layer` (default -2, LLaVA-1.5's penultimate layer). */
  layer?: number | number[];
  /** Default 'patch' (CLS dropped), LLaVA's default. */
  select?: FeatureSelect;
  ep?: ExecutionProvider;
}

/** LLaVA image features (B, N, D) for pixel_values (B, C, S, S) from the tower in `towerDir`. */
export async function clipImageFeatures(
  towerDir: string,
  pixelValues: HostTensor,
  options: ImageFeatureOptions = {},
): Promise<HostTensor> {
  const tower = openVisionTower(towerDir);
  try {
    const graph = buildVisionGraph(tower, {
      features: { layer: options.layer ?? -2, select: options.select ?? 'patch' },
    });
    const session = await createSession(graph, { ep: options.ep ?? 'cpu', cache: false });
    try {
      const out = await session.run({ pixel_values: asFloat32(pixelValues) });
      return out[visionOutputs.features];
    } finally {
      await session.release();
    }
  } finally {
    tower.weights.close();
  }
}

const llavaVisionMetadata = z.object({
  vision: z.string(),
  vision_feature_layer: z.union([z.number().int(), z.array(z.number().int())]).default(-2),
  vision_feature_select: z.enum(featureSelects).default('patch'),
});

/** The tower features a LLaVA case names in its metadata (`vision`, `vision_feature_layer`, `vision_feature_select`). */
export async function towerFeatures(context: CaseContext, pixelValues: HostTensor): Promise<HostTensor> {
  const meta = llavaVisionMetadata.parse(context.metadata);
  return clipImageFeatures(join(context.dir, meta.vision), pixelValues, {
    layer: meta.vision_feature_layer,
    select: meta.vision_feature_select,
    ep: context.ep,
  });
}

// ---- case runners ------------------------------------------------------------------------------

function caseTensor(context: CaseContext, name: string): HostTensor {
  const t = context.tensors[name];
  if (!t)
    throw new Error(`case tensor '${name}' is missing; present: ${Object.keys(context.tensors).join(', ')}`);
  return t;
}

function asFloat32(t: HostTensor): HostTensor<'float32'> {
  return t.dtype === 'float32' ? (t as HostTensor<'float32'>) : hostTensor('float32', t.dims, toNumbers(t));
}

const visionMetadata = z.object({ model: z.string(), image: z.string().optional() });

/** mean |a-b| and max |a-b| (absolute: pixel values are normalized units). */
function absoluteErrors(actual: ArrayLike<number>, expected: HostTensor): { mean: number; max: number } {
  const b = toNumbers(expected);
  if (actual.length !== b.length)
    throw new Error(`pixel_values: ${actual.length} values against ${b.length} in the reference`);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(actual[i] - b[i]);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / b.length, max };
}

/** The tower outputs a case stores under `prefix`: hidden_states.<i>, last_hidden_state, pooler_output. */
function requestFor(context: CaseContext, prefix: string): VisionRequest {
  const names = Object.keys(context.tensors)
    .filter((n) => n.startsWith(prefix))
    .map((n) => n.slice(prefix.length));
  return {
    hiddenStates: names
      .map((n) => /^hidden_states\.(-?\d+)$/.exec(n))
      .flatMap((m) => (m ? [Number(m[1])] : [])),
    lastHiddenState: names.includes(visionOutputs.lastHiddenState),
    poolerOutput: names.includes(visionOutputs.poolerOutput),
  };
}

/** case_clip: pixel_values from the PNG (when the case names one), tower outputs for every stored input. */
export const runVisionEncoderCase: CaseRunner = async (context) => {
  const meta = visionMetadata.parse(context.metadata);
  const modelDir = join(context.dir, meta.model);
  const measures: Measure[] = [];
  if (meta.image) {
    const pixels = await preprocessImage(join(context.dir, meta.image), loadImageProcessor(modelDir));
    const errors = absoluteErrors(pixels.data, caseTensor(context, 'pixel_values'));
    measures.push(measure('pixel_values.mean_abs', errors.mean, pixelTolerances.mean));
    measures.push(measure('pixel_values.max_abs', errors.max, pixelTolerances.max));
  }
  const tower = openVisionTower(modelDir);
  try {
    // Stored inputs and the prefix of their outputs: 'pixel_values' -> '', 'random_pixel_values' -> 'random.'.
    const inputs = Object.keys(context.tensors).filter((n) => n.endsWith('pixel_values'));
    for (const input of inputs) {
      const prefix = input === 'pixel_values' ? '' : `${input.slice(0, -'_pixel_values'.length)}.`;
      const request = requestFor(context, prefix);
      if (!request.hiddenStates?.length && !request.lastHiddenState && !request.poolerOutput) continue;
      const session = await createSession(buildVisionGraph(tower, request), { ep: context.ep, cache: false });
      const out = await session.run({ pixel_values: asFloat32(context.tensors[input]) });
      await session.release();
      for (const name of Object.keys(out)) {
        measures.push(
          measure(
            prefix + name,
            maxRelative(out[name], caseTensor(context, prefix + name)),
            tolerances.activations,
          ),
        );
      }
    }
  } finally {
    tower.weights.close();
  }
  return measures;
};

const audioMetadata = z.object({ model: z.string() });

/**
 * case_whisper: input_features from the audio; encoder.last_hidden_state from the stored
 * input_features and, end to end, from our own log-mel (both rows in one batch).
 */
export const runAudioEncoderCase: CaseRunner = async (context) => {
  const meta = audioMetadata.parse(context.metadata);
  const modelDir = join(context.dir, meta.model);
  const measures: Measure[] = [];
  const storedFeatures = asFloat32(caseTensor(context, 'input_features'));
  const expected = caseTensor(context, 'encoder.last_hidden_state');
  let ours: Float32Array | null = null;
  if (context.tensors.audio) {
    ours = whisperLogMel(
      Float32Array.from(toNumbers(context.tensors.audio)),
      loadWhisperFeatureConfig(modelDir),
    ).data;
    measures.push(measure('input_features', maxRelative(ours, storedFeatures), tolerances.activations));
  }
  const encoder = openWhisperEncoder(modelDir);
  try {
    const [batch, ...rest] = storedFeatures.dims;
    const feed = new Float32Array(storedFeatures.data.length + (ours?.length ?? 0));
    feed.set(storedFeatures.data);
    if (ours) feed.set(ours, storedFeatures.data.length);
    const rows = ours ? batch + 1 : batch;
    const session = await createSession(buildWhisperEncoderGraph(encoder), { ep: context.ep, cache: false });
    const out = await session.run({ input_features: hostTensor('float32', [rows, ...rest], feed) });
    await session.release();
    const perRow = out.last_hidden_state.data.length / rows;
    const hidden = out.last_hidden_state.data as Float32Array;
    const fromStored = hidden.subarray(0, batch * perRow);
    measures.push(
      measure('encoder.last_hidden_state', maxRelative(fromStored, expected), tolerances.activations),
    );
    if (ours) {
      // The audio is one clip: its row is compared with the reference's first row.
      const fromAudio = hidden.subarray(batch * perRow);
      const reference = toNumbers(expected).subarray(0, perRow);
      measures.push(
        measure(
          'encoder.last_hidden_state[from audio]',
          maxRelative(fromAudio, reference),
          tolerances.activations,
        ),
      );
    }
  } finally {
    encoder.weights.close();
  }
  return measures;
};

/** Runners by case `kind`, for verify.ts's registry. */
export const encoderCaseRunners: Record<string, CaseRunner> = {
  vision_encoder: runVisionEncoderCase,
  audio_encoder: runAudioEncoderCase,
};
