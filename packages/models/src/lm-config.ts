// Decoder-LM config normalisation: reads a Hugging Face `config.json` and turns its many key
// styles into one validated `LmConfig`. What is common to every decoder lives here (sizes, heads,
// RoPE in transformers 4 keys `rope_theta`/`rope_scaling` and 5 keys `rope_parameters`, per-layer
// attention kinds, token ids); what a family adds (Gemma's soft-caps and norms, Qwen3's q/k norms,
// Phi-3's partial rotary) is read by its entry in architectures/ through `FamilyConfig`.
// Limits: rope types other than default/linear/llama3 are rejected with a clear error rather than
// silently computed wrong.
import { z } from 'zod';

export class UnsupportedConfigError extends Error {
  override name = 'UnsupportedConfigError';
}

export type RopeScaling =
  | { type: 'default' }
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

export interface Rope {
  theta: number;
  scaling: RopeScaling;
}

export const supportedRopeTypes = ['default', 'linear', 'llama3'] as const;
export const supportedHiddenActs = ['silu', 'gelu', 'gelu_pytorch_tanh'] as const;
export type HiddenAct = (typeof supportedHiddenActs)[number];
/** Full causal attention, or causal attention to the last `slidingWindow` positions. */
export type AttentionKind = 'full' | 'sliding';

/** Everything the decoder graph needs, with HF's defaults already applied. */
export interface LmConfig {
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  /** RoPE of full-attention layers (and of every layer unless `slidingRope` is set). */
  ropeTheta: number;
  ropeScaling: RopeScaling;
  /** RoPE of sliding layers when it differs (Gemma 3's local base frequency). */
  slidingRope: Rope | null;
  /** Dims of each head that RoPE rotates (head_dim x partial_rotary_factor); the rest pass through. */
  rotaryDim: number;
  /** Attention kind of each layer. */
  layerTypes: AttentionKind[];
  /** Keys a sliding layer reads: query position - key position < slidingWindow. */
  slidingWindow: number | null;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  hiddenAct: HiddenAct;
  /** Biases on q/k/v projections (Qwen2 always; Llama when `attention_bias`). */
  qkvBias: boolean;
  /** Bias on o_proj (Llama `attention_bias` only; Qwen2 never). */
  oBias: boolean;
  mlpBias: boolean;
  /** Factor on q, so on the attention scores: head_dim^-0.5, or query_pre_attn_scalar^-0.5 (Gemma). */
  attentionScale: number;
  /** scores = cap * tanh(scores / cap) before the mask (Gemma 2). */
  attnLogitSoftcap: number | null;
  /** logits = cap * tanh(logits / cap) (Gemma 2). */
  finalLogitSoftcap: number | null;
  /** Token embeddings are multiplied by this (Gemma: sqrt(hidden_size)). */
  embedScale: number;
  /** Norm weights are stored as offsets: the norm multiplies by (offset + w) (Gemma: 1). */
  normWeightOffset: number;
  /** Per-head RMSNorm of q and k before RoPE (Qwen3, Gemma 3). */
  qkNorm: boolean;
  /** Norms on the attention and MLP outputs before each residual add (Gemma 2/3). */
  sandwichNorms: boolean;
  eosTokenIds: number[];
  padTokenId: number | null;
}

const ropeParams = z
  .object({
    rope_type: z.string().optional(),
    type: z.string().optional(),
    rope_theta: z.number().positive().optional(),
    factor: z.number().positive().optional(),
    low_freq_factor: z.number().optional(),
    high_freq_factor: z.number().optional(),
    original_max_position_embeddings: z.number().int().positive().optional(),
    partial_rotary_factor: z.number().positive().max(1).optional(),
  })
  .passthrough();
export type RopeParams = z.infer<typeof ropeParams>;

const tokenIds = z.union([z.number().int(), z.array(z.number().int())]).nullish();
const layerType = z.enum(['full_attention', 'sliding_attention']);

export const rawLmConfig = z
  .object({
    model_type: z.string(),
    vocab_size: z.number().int().positive(),
    hidden_size: z.number().int().positive(),
    intermediate_size: z.number().int().positive(),
    num_hidden_layers: z.number().int().positive(),
    num_attention_heads: z.number().int().positive(),
    num_key_value_heads: z.number().int().positive().nullish(),
    head_dim: z.number().int().positive().nullish(),
    rms_norm_eps: z.number().positive().optional(),
    rope_theta: z.number().positive().optional(),
    rope_scaling: ropeParams.nullish(),
    // transformers 5: one set of parameters, or one per layer type (Gemma 3).
    rope_parameters: z.union([ropeParams, z.record(layerType, ropeParams)]).nullish(),
    partial_rotary_factor: z.number().positive().max(1).optional(),
    max_position_embeddings: z.number().int().positive().optional(),
    tie_word_embeddings: z.boolean().optional(),
    hidden_act: z.string().nullish(),
    hidden_activation: z.string().nullish(),
    attention_bias: z.boolean().optional(),
    mlp_bias: z.boolean().optional(),
    sliding_window: z.number().int().positive().nullish(),
    use_sliding_window: z.boolean().optional(),
    max_window_layers: z.number().int().nonnegative().optional(),
    layer_types: z.array(layerType).nullish(),
    sliding_window_pattern: z.number().int().positive().optional(),
    query_pre_attn_scalar: z.number().positive().nullish(),
    attn_logit_softcapping: z.number().positive().nullish(),
    final_logit_softcapping: z.number().positive().nullish(),
    rope_local_base_freq: z.number().positive().optional(),
    use_bidirectional_attention: z.boolean().nullish(),
    eos_token_id: tokenIds,
    pad_token_id: z.number().int().nullish(),
  })
  .passthrough();
export type RawLmConfig = z.infer<typeof rawLmConfig>;

/** What a family's registry entry decides, given the raw config and the common part. */
export type FamilyConfig = Pick<
  LmConfig,
  | 'qkvBias'
  | 'oBias'
  | 'attentionScale'
  | 'attnLogitSoftcap'
  | 'finalLogitSoftcap'
  | 'embedScale'
  | 'normWeightOffset'
  | 'qkNorm'
  | 'sandwichNorms'
  | 'slidingRope'
  | 'layerTypes'
  | 'slidingWindow'
>;

/** transformers' config-class defaults for keys a family's config.json may omit. */
export interface FamilyDefaults {
  rmsNormEps: number;
  hiddenAct: HiddenAct;
  tieWordEmbeddings: boolean;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  /** Set when the config class has its own head_dim default instead of hidden / heads. */
  headDim?: number;
}

export type CommonConfig = Omit<LmConfig, keyof FamilyConfig>;

function isLayerTypeRecord(
  p: NonNullable<RawLmConfig['rope_parameters']>,
): p is Partial<Record<z.infer<typeof layerType>, RopeParams>> {
  return 'full_attention' in p || 'sliding_attention' in p;
}

/** Whether the config gives each layer type its own RoPE parameters (transformers 5 Gemma 3). */
export function hasRopePerLayerType(raw: RawLmConfig): boolean {
  return raw.rope_parameters != null && isLayerTypeRecord(raw.rope_parameters);
}

/** The RoPE parameters of `kind` layers: per-type in transformers 5 Gemma 3, else the one set. */
export function ropeParamsOf(raw: RawLmConfig, kind: AttentionKind): RopeParams | null {
  const params = raw.rope_parameters;
  if (params && isLayerTypeRecord(params)) {
    return params[kind === 'full' ? 'full_attention' : 'sliding_attention'] ?? null;
  }
  return params ?? raw.rope_scaling ?? null;
}

/** A rope from its parameters; `theta` is used when the parameters carry none. */
export function normaliseRope(params: RopeParams | null, theta: number): Rope {
  const kind = params?.rope_type ?? params?.type ?? 'default';
  theta = params?.rope_theta ?? theta;
  if (kind === 'default' || params === null) return { theta, scaling: { type: 'default' } };
  const need = (key: keyof RopeParams): number => {
    const value = params[key];
    if (typeof value !== 'number') {
      throw new UnsupportedConfigError(
        `rope type '${kind}' needs '${String(key)}' in rope_parameters/rope_scaling`,
      );
    }
    return value;
  };
  if (kind === 'linear') return { theta, scaling: { type: 'linear', factor: need('factor') } };
  if (kind === 'llama3') {
    return {
      theta,
      scaling: {
        type: 'llama3',
        factor: need('factor'),
        lowFreqFactor: need('low_freq_factor'),
        highFreqFactor: need('high_freq_factor'),
        originalMaxPositionEmbeddings: need('original_max_position_embeddings'),
      },
    };
  }
  throw new UnsupportedConfigError(
    `rope type '${kind}' is not supported; supported: ${supportedRopeTypes.join(', ')}`,
  );
}

/** Validates the keys every family reads; a bad key is named with its message. */
export function readRawLmConfig(json: unknown): RawLmConfig {
  const parsed = rawLmConfig.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new UnsupportedConfigError(`config.json is not a decoder-LM config: ${issues}`);
  }
  return parsed.data;
}

/** Per-layer attention kinds: `layer_types` when given, else every layer sliding or every one full. */
export function layerKinds(raw: RawLmConfig, allSliding: boolean): AttentionKind[] {
  if (raw.layer_types) {
    if (raw.layer_types.length !== raw.num_hidden_layers) {
      throw new UnsupportedConfigError(
        `layer_types has ${raw.layer_types.length} entries for ${raw.num_hidden_layers} layers`,
      );
    }
    return raw.layer_types.map((t) => (t === 'sliding_attention' ? 'sliding' : 'full'));
  }
  return Array.from({ length: raw.num_hidden_layers }, () => (allSliding ? 'sliding' : 'full'));
}

/** The part of LmConfig every decoder family shares, with the family's defaults applied. */
export function commonLmConfig(raw: RawLmConfig, defaults: FamilyDefaults): CommonConfig {
  const hiddenAct = raw.hidden_activation ?? raw.hidden_act ?? defaults.hiddenAct;
  if (!(supportedHiddenActs as readonly string[]).includes(hiddenAct)) {
    throw new UnsupportedConfigError(
      `hidden_act '${hiddenAct}' is not supported; supported: ${supportedHiddenActs.join(', ')}`,
    );
  }
  const numHeads = raw.num_attention_heads;
  const numKvHeads = raw.num_key_value_heads ?? numHeads;
  if (numHeads % numKvHeads !== 0) {
    throw new UnsupportedConfigError(
      `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`,
    );
  }
  const headDim = raw.head_dim ?? defaults.headDim ?? raw.hidden_size / numHeads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new UnsupportedConfigError(`head_dim ${headDim} must be an even integer (hidden_size / heads)`);
  }
  const fullRopeParams = ropeParamsOf(raw, 'full');
  const rope = normaliseRope(fullRopeParams, raw.rope_theta ?? defaults.ropeTheta);
  // transformers: int(head_dim * partial_rotary_factor), from rope_parameters (5) or the config (4).
  const partial = fullRopeParams?.partial_rotary_factor ?? raw.partial_rotary_factor ?? 1;
  const rotaryDim = Math.trunc(headDim * partial);
  if (rotaryDim % 2 !== 0 || rotaryDim === 0) {
    throw new UnsupportedConfigError(
      `partial_rotary_factor ${partial} gives ${rotaryDim} rotary dims of ${headDim}; it must be even and > 0`,
    );
  }
  const eos = raw.eos_token_id;
  return {
    modelType: raw.model_type,
    vocabSize: raw.vocab_size,
    hiddenSize: raw.hidden_size,
    intermediateSize: raw.intermediate_size,
    numLayers: raw.num_hidden_layers,
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: raw.rms_norm_eps ?? defaults.rmsNormEps,
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    rotaryDim,
    maxPositionEmbeddings: raw.max_position_embeddings ?? defaults.maxPositionEmbeddings,
    tieWordEmbeddings: raw.tie_word_embeddings ?? defaults.tieWordEmbeddings,
    hiddenAct: hiddenAct as HiddenAct,
    mlpBias: raw.mlp_bias ?? false,
    eosTokenIds: eos == null ? [] : Array.isArray(eos) ? eos : [eos],
    padTokenId: raw.pad_token_id ?? null,
  };
}

/** The family fields of a plain Llama-style decoder; entries override what their family changes. */
export function plainFamily(raw: RawLmConfig, common: CommonConfig): FamilyConfig {
  const attentionBias = raw.attention_bias ?? false;
  return {
    qkvBias: attentionBias,
    oBias: attentionBias,
    attentionScale: 1 / Math.sqrt(common.headDim),
    attnLogitSoftcap: null,
    finalLogitSoftcap: null,
    embedScale: 1,
    normWeightOffset: 0,
    qkNorm: false,
    sandwichNorms: false,
    slidingRope: null,
    layerTypes: layerKinds(raw, false),
    slidingWindow: null,
  };
}

/** Sliding layers need a window; a window with no sliding layer is dropped (as transformers' masks do). */
export function checkSliding(config: LmConfig): LmConfig {
  const sliding = config.layerTypes.includes('sliding');
  if (sliding && config.slidingWindow === null) {
    throw new UnsupportedConfigError(
      `${config.modelType}: layer_types has sliding layers but no sliding_window`,
    );
  }
  return sliding ? config : { ...config, slidingWindow: null };
}
