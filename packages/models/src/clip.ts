// CLIP's vision tower (transformers' CLIPVisionTransformer) as a frozen ONNX graph, from a
// CLIPVisionModel, a full CLIPModel (weights under `vision_model.`, config under
// `vision_config`) or a LLaVA checkpoint. Embeddings: conv patches (no bias) after a learned
// CLS token, plus position embeddings, then pre_layrnorm; pre-LN layers; post_layernorm only
// on the CLS token for `pooler_output` (last_hidden_state is the last layer's raw output).
// Input `pixel_values` float32 (B, C, S, S) with a symbolic batch; outputs per VisionRequest.
// Limits: the image size is the config's (no position-embedding interpolation); the
// projection head of CLIPVisionModelWithProjection is not built.
import { add, concat, expand, Graph, layerNorm, reshape, slice, squeeze, type Value } from '@mmit/tensor';
import { z } from 'zod';
import { type HubOptions, resolveCheckpoint } from './hub.js';
import {
  declareOutputs,
  type EncoderWeights,
  encoderLayer,
  FeatureRequestError,
  frozenWeight,
  layersNeeded,
  openEncoderWeights,
  patchEmbedding,
  readConfigSection,
  type VisionRequest,
  vitLayerNames,
} from './vision-tower.js';

/** CLIPVisionConfig, with transformers' defaults for keys that older configs omit. */
export const ClipVisionConfigSchema = z.object({
  hidden_size: z.number().int().positive().default(768),
  intermediate_size: z.number().int().positive().default(3072),
  num_hidden_layers: z.number().int().positive().default(12),
  num_attention_heads: z.number().int().positive().default(12),
  num_channels: z.number().int().positive().default(3),
  image_size: z.number().int().positive().default(224),
  patch_size: z.number().int().positive().default(32),
  hidden_act: z.string().default('quick_gelu'),
  layer_norm_eps: z.number().positive().default(1e-5),
});

/** A vision tower's sizes, shared by CLIP and SigLIP. */
export interface VisionConfig {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  heads: number;
  channels: number;
  imageSize: number;
  patchSize: number;
  act: string;
  eps: number;
}

export function toVisionConfig(raw: z.infer<typeof ClipVisionConfigSchema>): VisionConfig {
  if (raw.image_size % raw.patch_size !== 0) {
    throw new FeatureRequestError(
      `image_size ${raw.image_size} is not a multiple of patch_size ${raw.patch_size}`,
    );
  }
  return {
    hiddenSize: raw.hidden_size,
    intermediateSize: raw.intermediate_size,
    numLayers: raw.num_hidden_layers,
    heads: raw.num_attention_heads,
    channels: raw.num_channels,
    imageSize: raw.image_size,
    patchSize: raw.patch_size,
    act: raw.hidden_act,
    eps: raw.layer_norm_eps,
  };
}

export interface ClipVisionTower {
  readonly kind: 'clip';
  readonly dir: string;
  readonly config: VisionConfig;
  readonly weights: EncoderWeights;
  /** Patches per image (without CLS). */
  readonly numPatches: number;
}

export interface TowerOptions {
  /** The weights' prefix when a checkpoint holds several vision towers. */
  prefix?: string;
}

/** Opens a CLIP vision tower from a checkpoint folder (any of the layouts above). */
export function openClipVisionTower(dir: string, options: TowerOptions = {}): ClipVisionTower {
  const parsed = ClipVisionConfigSchema.safeParse(readConfigSection(dir, 'vision_config'));
  if (!parsed.success) throw new FeatureRequestError(`${dir}/config.json: ${z.prettifyError(parsed.error)}`);
  const config = toVisionConfig(parsed.data);
  const weights = openEncoderWeights(
    dir,
    'embeddings.patch_embedding.weight',
    'CLIP vision tower',
    options.prefix,
  );
  return { kind: 'clip', dir, config, weights, numPatches: (config.imageSize / config.patchSize) ** 2 };
}

/** Resolves a folder or a Hugging Face repo id (downloaded to the cache when online), then opens it. */
export async function loadClipVisionTower(
  idOrPath: string,
  options: TowerOptions & HubOptions = {},
): Promise<ClipVisionTower> {
  return openClipVisionTower(await resolveCheckpoint(idOrPath, options), options);
}

/** Builds the tower's forward graph for what `request` asks (only the layers it needs). */
export function buildClipVisionGraph(tower: ClipVisionTower, request: VisionRequest): Graph {
  const { config, weights } = tower;
  const g = new Graph('clip_vision');
  const s = config.imageSize;
  const pixels = g.input('pixel_values', 'float32', ['batch', config.channels, s, s]);
  const w = (name: string) => frozenWeight(g, weights, name);

  const embedded = g.scope('embeddings', () => {
    const patches = patchEmbedding(
      pixels,
      w('embeddings.patch_embedding.weight'),
      undefined,
      config.patchSize,
    );
    const cls = expand(reshape(w('embeddings.class_embedding'), [1, 1, config.hiddenSize]), [
      'batch',
      1,
      config.hiddenSize,
    ]);
    const tokens = concat([cls, patches], 1); // (B, 1 + N, D)
    const positioned = add(tokens, w('embeddings.position_embedding.weight')); // (1 + N, D) broadcasts over B
    return layerNorm(positioned, w('pre_layrnorm.weight'), w('pre_layrnorm.bias'), config.eps);
  });

  const hidden: Value[] = [embedded]; // HF's hidden_states tuple, as far as it is needed
  const count = layersNeeded(request, config.numLayers);
  for (let i = 0; i < count; i++) {
    const spec = { hiddenSize: config.hiddenSize, heads: config.heads, eps: config.eps, act: config.act };
    hidden.push(
      g.scope(`layers.${i}`, () =>
        encoderLayer(g, hidden[i], weights, `encoder.layers.${i}.`, vitLayerNames, spec),
      ),
    );
  }

  declareOutputs(g, request, hidden, config.numLayers, true, () => {
    const cls = squeeze(slice(hidden[config.numLayers], 1, 0, 1), [1]); // (B, D)
    return layerNorm(cls, w('post_layernorm.weight'), w('post_layernorm.bias'), config.eps);
  });
  return g;
}
