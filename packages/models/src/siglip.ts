// SigLIP's vision tower (transformers' SiglipVisionTransformer) as a frozen ONNX graph, from a
// SiglipVisionModel, a full SiglipModel (weights under `vision_model.`, config under
// `vision_config`) or a VLM checkpoint that embeds it. Differences from CLIP: no CLS token,
// the patch conv has a bias, no pre-LayerNorm, gelu_pytorch_tanh, and `last_hidden_state` is
// the post_layernorm of every token (hidden_states[-1] is the same tokens before it).
// Input `pixel_values` float32 (B, C, S, S) with a symbolic batch; outputs per VisionRequest.
// Limits: the attention-pooling head (`pooler_output`, vision_use_head) is not built, since
// features for a projector come from the token states; no position-embedding interpolation;
// SigLIP2's NaFlex variant (packed patches, variable resolution) is a different model.
import { add, Graph, layerNorm, type Value } from '@mmit/tensor';
import { z } from 'zod';
import { type TowerOptions, toVisionConfig, type VisionConfig } from './clip.js';
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

/** SiglipVisionConfig, with transformers' defaults for keys a config omits. */
export const SiglipVisionConfigSchema = z.object({
  hidden_size: z.number().int().positive().default(768),
  intermediate_size: z.number().int().positive().default(3072),
  num_hidden_layers: z.number().int().positive().default(12),
  num_attention_heads: z.number().int().positive().default(12),
  num_channels: z.number().int().positive().default(3),
  image_size: z.number().int().positive().default(224),
  patch_size: z.number().int().positive().default(16),
  hidden_act: z.string().default('gelu_pytorch_tanh'),
  layer_norm_eps: z.number().positive().default(1e-6),
});

export interface SiglipVisionTower {
  readonly kind: 'siglip';
  readonly dir: string;
  readonly config: VisionConfig;
  readonly weights: EncoderWeights;
  /** Patches (= tokens) per image. */
  readonly numPatches: number;
}

/** Opens a SigLIP vision tower from a checkpoint folder. */
export function openSiglipVisionTower(dir: string, options: TowerOptions = {}): SiglipVisionTower {
  const parsed = SiglipVisionConfigSchema.safeParse(readConfigSection(dir, 'vision_config'));
  if (!parsed.success) throw new FeatureRequestError(`${dir}/config.json: ${z.prettifyError(parsed.error)}`);
  const config = toVisionConfig(parsed.data);
  const weights = openEncoderWeights(
    dir,
    'embeddings.patch_embedding.weight',
    'SigLIP vision tower',
    options.prefix,
  );
  return { kind: 'siglip', dir, config, weights, numPatches: (config.imageSize / config.patchSize) ** 2 };
}

export async function loadSiglipVisionTower(
  idOrPath: string,
  options: TowerOptions & HubOptions = {},
): Promise<SiglipVisionTower> {
  return openSiglipVisionTower(await resolveCheckpoint(idOrPath, options), options);
}

/** Builds the tower's forward graph for what `request` asks (only the layers it needs). */
export function buildSiglipVisionGraph(tower: SiglipVisionTower, request: VisionRequest): Graph {
  const { config, weights } = tower;
  const g = new Graph('siglip_vision');
  const s = config.imageSize;
  const pixels = g.input('pixel_values', 'float32', ['batch', config.channels, s, s]);
  const w = (name: string) => frozenWeight(g, weights, name);

  const embedded = g.scope('embeddings', () => {
    const patches = patchEmbedding(
      pixels,
      w('embeddings.patch_embedding.weight'),
      w('embeddings.patch_embedding.bias'),
      config.patchSize,
    ); // (B, N, D)
    return add(patches, w('embeddings.position_embedding.weight')); // (N, D) broadcasts over B
  });

  const hidden: Value[] = [embedded];
  const count = layersNeeded(request, config.numLayers);
  for (let i = 0; i < count; i++) {
    const spec = { hiddenSize: config.hiddenSize, heads: config.heads, eps: config.eps, act: config.act };
    hidden.push(
      g.scope(`layers.${i}`, () =>
        encoderLayer(g, hidden[i], weights, `encoder.layers.${i}.`, vitLayerNames, spec),
      ),
    );
  }

  const postLayerNorm = () =>
    g.scope('post_layernorm', () =>
      layerNorm(hidden[config.numLayers], w('post_layernorm.weight'), w('post_layernorm.bias'), config.eps),
    );
  declareOutputs(g, request, hidden, config.numLayers, false, null, postLayerNorm);
  return g;
}
