// Phi-3 / Phi-3.5 / Phi-4-mini: Llama's block with fused projections. `qkv_proj` stacks q
// (heads x head_dim rows), k and v (kv heads x head_dim rows each); `gate_up_proj` stacks gate and
// up (intermediate_size rows each). The layout splits them into our q/k/v and gate/up, so LoRA,
// merging and the graph see separate linears. `partial_rotary_factor` (Phi-4-mini: 0.75) rotates
// only the leading dims of each head; `sliding_window`, when set, applies to every layer.
import { layerKinds, plainFamily } from '../lm-config.js';
import { type Architecture, linearWeights, outerWeights, preNorms } from './spec.js';

export const phi3: Architecture = {
  modelType: 'phi3',
  hfClass: 'Phi3ForCausalLM',
  defaults: {
    rmsNormEps: 1e-5,
    hiddenAct: 'silu',
    tieWordEmbeddings: false,
    ropeTheta: 10000,
    maxPositionEmbeddings: 4096,
  },
  family: (raw, common) => ({
    ...plainFamily(raw, common),
    layerTypes: layerKinds(raw, raw.sliding_window != null),
    slidingWindow: raw.sliding_window ?? null,
  }),
  weights: {
    table: [
      ...outerWeights,
      ...preNorms,
      ...linearWeights('self_attn.o_proj', 'attn.o'),
      ...linearWeights('mlp.down_proj', 'mlp.down'),
    ],
    fused: [
      {
        hf: 'layers.{i}.self_attn.qkv_proj.weight',
        ours: ['layers.{i}.attn.q.weight', 'layers.{i}.attn.k.weight', 'layers.{i}.attn.v.weight'],
        rows: (c) => [c.numHeads * c.headDim, c.numKvHeads * c.headDim, c.numKvHeads * c.headDim],
      },
      {
        hf: 'layers.{i}.mlp.gate_up_proj.weight',
        ours: ['layers.{i}.mlp.gate.weight', 'layers.{i}.mlp.up.weight'],
        rows: (c) => [c.intermediateSize, c.intermediateSize],
      },
    ],
  },
};
