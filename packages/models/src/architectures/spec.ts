// What a decoder family is, as one registry entry: the transformers class it reproduces, its
// config defaults and family fields (lm-config.ts `FamilyConfig`), and its weight layout. The
// graph is the one decoder body (decoder.ts) every family shares; the entry's config switches its
// variants on (norm offset, q/k norm, sandwich norms, soft-caps, sliding layers, partial rotary).
import type { CommonConfig, FamilyConfig, FamilyDefaults, RawLmConfig } from '../lm-config.js';
import type { WeightLayout, WeightTable } from '../weight-names.js';

export interface Architecture {
  /** config.json `model_type`. */
  modelType: string;
  /** transformers class this graph reproduces, for messages. */
  hfClass: string;
  defaults: FamilyDefaults;
  /** The family's own fields, read from the raw config once the common part is known. */
  family(raw: RawLmConfig, common: CommonConfig): FamilyConfig;
  weights: WeightLayout;
}

/** Embedding, final norm and head: the same names in every family here. */
export const outerWeights: WeightTable = [
  ['embed_tokens.weight', 'embed.weight'],
  ['norm.weight', 'norm.weight'],
  ['lm_head.weight', 'head.weight'],
];

/** A linear's weight and bias rows, HF module path -> ours. */
export function linearWeights(hf: string, ours: string): WeightTable {
  return [
    [`layers.{i}.${hf}.weight`, `layers.{i}.${ours}.weight`],
    [`layers.{i}.${hf}.bias`, `layers.{i}.${ours}.bias`],
  ];
}

/** Llama's separate projections: q/k/v/o and the gated MLP's gate/up/down. */
export const llamaLinears: WeightTable = [
  ...linearWeights('self_attn.q_proj', 'attn.q'),
  ...linearWeights('self_attn.k_proj', 'attn.k'),
  ...linearWeights('self_attn.v_proj', 'attn.v'),
  ...linearWeights('self_attn.o_proj', 'attn.o'),
  ...linearWeights('mlp.gate_proj', 'mlp.gate'),
  ...linearWeights('mlp.up_proj', 'mlp.up'),
  ...linearWeights('mlp.down_proj', 'mlp.down'),
];

/** Pre-norm blocks: one norm before attention, one before the MLP. */
export const preNorms: WeightTable = [
  ['layers.{i}.input_layernorm.weight', 'layers.{i}.attn_norm.weight'],
  ['layers.{i}.post_attention_layernorm.weight', 'layers.{i}.mlp_norm.weight'],
];

/** Per-head q/k RMSNorm weights (Qwen3, Gemma 3). */
export const qkNorms: WeightTable = [
  ['layers.{i}.self_attn.q_norm.weight', 'layers.{i}.attn.q_norm.weight'],
  ['layers.{i}.self_attn.k_norm.weight', 'layers.{i}.attn.k_norm.weight'],
];
