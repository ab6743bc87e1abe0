// Gemma 2 and Gemma 3 (text). Both differ from Llama in the same ways: norms multiply by (1 + w)
// (weights are stored as offsets from one), each block has sandwich norms (after attention and
// after the MLP, before each residual add), token embeddings are scaled by sqrt(hidden_size)
// (inside the embedding, so LLaVA rows that replace `<image>` tokens are not scaled), scores are
// scaled by query_pre_attn_scalar^-0.5, the MLP is GeGLU (`hidden_activation`), and layers
// alternate sliding-window and full attention. Gemma 2 soft-caps attention scores and the final
// logits; Gemma 3 has per-head q/k norms instead and a separate RoPE base for sliding layers.
import {
  type CommonConfig,
  type FamilyConfig,
  type FamilyDefaults,
  hasRopePerLayerType,
  layerKinds,
  normaliseRope,
  plainFamily,
  type RawLmConfig,
  ropeParamsOf,
  UnsupportedConfigError,
} from '../lm-config.js';
import { type Architecture, llamaLinears, outerWeights, qkNorms } from './spec.js';

const gemmaDefaults: FamilyDefaults = {
  rmsNormEps: 1e-6,
  hiddenAct: 'gelu_pytorch_tanh',
  tieWordEmbeddings: true,
  ropeTheta: 10000,
  maxPositionEmbeddings: 8192,
  headDim: 256,
};

const sandwichNorms = [
  ['layers.{i}.input_layernorm.weight', 'layers.{i}.attn_norm.weight'],
  ['layers.{i}.post_attention_layernorm.weight', 'layers.{i}.post_attn_norm.weight'],
  ['layers.{i}.pre_feedforward_layernorm.weight', 'layers.{i}.mlp_norm.weight'],
  ['layers.{i}.post_feedforward_layernorm.weight', 'layers.{i}.post_mlp_norm.weight'],
] as const;

/** Every sliding_window_pattern-th layer is full (Gemma 2: 2, Gemma 3: 6), when no layer_types. */
function gemmaLayers(raw: RawLmConfig, pattern: number): Pick<FamilyConfig, 'layerTypes' | 'slidingWindow'> {
  const layerTypes = raw.layer_types
    ? layerKinds(raw, false)
    : Array.from({ length: raw.num_hidden_layers }, (_, i) =>
        (i + 1) % pattern === 0 ? ('full' as const) : ('sliding' as const),
      );
  return { layerTypes, slidingWindow: raw.sliding_window ?? 4096 };
}

function gemmaCommon(raw: RawLmConfig, common: CommonConfig): FamilyConfig {
  return {
    ...plainFamily(raw, common),
    attentionScale: 1 / Math.sqrt(raw.query_pre_attn_scalar ?? 256),
    // transformers multiplies by the scale cast to the weights' dtype (float32 here).
    embedScale: Math.fround(Math.sqrt(common.hiddenSize)),
    normWeightOffset: 1,
    sandwichNorms: true,
  };
}

export const gemma2: Architecture = {
  modelType: 'gemma2',
  hfClass: 'Gemma2ForCausalLM',
  defaults: gemmaDefaults,
  family: (raw, common) => ({
    ...gemmaCommon(raw, common),
    // Gemma2Config defaults both caps on; a config that writes null turns them off.
    attnLogitSoftcap: raw.attn_logit_softcapping === undefined ? 50 : raw.attn_logit_softcapping,
    finalLogitSoftcap: raw.final_logit_softcapping === undefined ? 30 : raw.final_logit_softcapping,
    ...gemmaLayers(raw, 2),
  }),
  weights: { table: [...outerWeights, ...sandwichNorms, ...llamaLinears], fused: [] },
};

export const gemma3Text: Architecture = {
  modelType: 'gemma3_text',
  hfClass: 'Gemma3ForCausalLM',
  defaults: { ...gemmaDefaults, ropeTheta: 1_000_000, maxPositionEmbeddings: 131072 },
  family: (raw, common) => {
    if (raw.use_bidirectional_attention) {
      throw new UnsupportedConfigError(
        'gemma3_text with use_bidirectional_attention (an embedding model) is not a causal decoder',
      );
    }
    return {
      ...gemmaCommon(raw, common),
      attnLogitSoftcap: raw.attn_logit_softcapping ?? null,
      finalLogitSoftcap: raw.final_logit_softcapping ?? null,
      qkNorm: true,
      // transformers 5 gives sliding layers their own parameters; 4 names only their base
      // (`rope_local_base_freq`), and its `rope_scaling` applies to full layers alone.
      slidingRope: hasRopePerLayerType(raw)
        ? normaliseRope(ropeParamsOf(raw, 'sliding'), 10000)
        : normaliseRope(null, raw.rope_local_base_freq ?? 10000),
      ...gemmaLayers(raw, raw.sliding_window_pattern ?? 6),
    };
  },
  weights: {
    table: [...outerWeights, ...sandwichNorms, ...qkNorms, ...llamaLinears],
    fused: [],
  },
};
