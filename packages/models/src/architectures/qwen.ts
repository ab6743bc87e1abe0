// Qwen2/Qwen2.5 and Qwen3. Qwen2 is Llama with q/k/v biases (never on o). Qwen3 drops the biases
// (unless `attention_bias`) and adds a per-head RMSNorm on q and k before RoPE; its config class
// defaults head_dim to 128 rather than hidden / heads. Both take sliding windows only with
// `use_sliding_window`, on the layers from `max_window_layers` on (transformers 5 writes them out
// as `layer_types`).
import { type CommonConfig, layerKinds, plainFamily, type RawLmConfig } from '../lm-config.js';
import { type Architecture, llamaLinears, outerWeights, preNorms, qkNorms } from './spec.js';

function qwenLayers(raw: RawLmConfig) {
  const window = raw.use_sliding_window ? (raw.sliding_window ?? 4096) : null;
  if (raw.layer_types || window === null) {
    return { layerTypes: layerKinds(raw, false), slidingWindow: window };
  }
  const from = raw.max_window_layers ?? 28;
  return {
    layerTypes: Array.from({ length: raw.num_hidden_layers }, (_, i) =>
      i >= from ? ('sliding' as const) : ('full' as const),
    ),
    slidingWindow: window,
  };
}

export const qwen2: Architecture = {
  modelType: 'qwen2',
  hfClass: 'Qwen2ForCausalLM',
  defaults: {
    rmsNormEps: 1e-6,
    hiddenAct: 'silu',
    tieWordEmbeddings: false,
    ropeTheta: 10000,
    maxPositionEmbeddings: 32768,
  },
  family: (raw: RawLmConfig, common: CommonConfig) => ({
    ...plainFamily(raw, common),
    qkvBias: true,
    oBias: false,
    ...qwenLayers(raw),
  }),
  weights: { table: [...outerWeights, ...preNorms, ...llamaLinears], fused: [] },
};

export const qwen3: Architecture = {
  modelType: 'qwen3',
  hfClass: 'Qwen3ForCausalLM',
  defaults: {
    rmsNormEps: 1e-6,
    hiddenAct: 'silu',
    tieWordEmbeddings: true,
    ropeTheta: 10000,
    maxPositionEmbeddings: 32768,
    headDim: 128,
  },
  family: (raw: RawLmConfig, common: CommonConfig) => ({
    ...plainFamily(raw, common),
    qkNorm: true,
    ...qwenLayers(raw),
  }),
  weights: { table: [...outerWeights, ...preNorms, ...qkNorms, ...llamaLinears], fused: [] },
};
