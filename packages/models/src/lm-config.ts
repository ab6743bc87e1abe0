// Decoder-LM config normalisation: the one place that reads a Hugging Face `config.json` for the
// Llama family and Qwen2 and turns its many key styles into one validated `LmConfig`.
// Handles transformers 4 keys (`rope_theta`, `rope_scaling`) and transformers 5 keys
// (`rope_parameters`), optional `head_dim` / `num_key_value_heads`, and the per-family defaults
// that transformers itself applies when a key is absent. Limits: rope types other than
// default/linear/llama3, and Qwen2 sliding-window attention, are rejected with a clear error
// rather than silently computed wrong.
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

export const supportedRopeTypes = ['default', 'linear', 'llama3'] as const;
export const supportedHiddenActs = ['silu', 'gelu', 'gelu_pytorch_tanh'] as const;
export type HiddenAct = (typeof supportedHiddenActs)[number];

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
  ropeTheta: number;
  ropeScaling: RopeScaling;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  hiddenAct: HiddenAct;
  /** Biases on q/k/v projections (Qwen2 always; Llama when `attention_bias`). */
  qkvBias: boolean;
  /** Bias on o_proj (Llama `attention_bias` only; Qwen2 never). */
  oBias: boolean;
  mlpBias: boolean;
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
  })
  .passthrough();

const tokenIds = z.union([z.number().int(), z.array(z.number().int())]).nullish();

const rawLmConfig = z
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
    rope_parameters: ropeParams.nullish(),
    max_position_embeddings: z.number().int().positive().optional(),
    tie_word_embeddings: z.boolean().optional(),
    hidden_act: z.string().optional(),
    attention_bias: z.boolean().optional(),
    mlp_bias: z.boolean().optional(),
    use_sliding_window: z.boolean().optional(),
    eos_token_id: tokenIds,
    pad_token_id: z.number().int().nullish(),
  })
  .passthrough();

/** Per-family defaults, as in transformers' LlamaConfig / Qwen2Config when a key is missing. */
const familyDefaults: Record<string, { rmsNormEps: number; qkvBias: boolean | null }> = {
  llama: { rmsNormEps: 1e-6, qkvBias: null },
  qwen2: { rmsNormEps: 1e-6, qkvBias: true },
};

function normaliseRope(raw: z.infer<typeof rawLmConfig>): { theta: number; scaling: RopeScaling } {
  // transformers 5 folds theta and scaling into `rope_parameters`; 4.x keeps `rope_theta` + `rope_scaling`.
  const params = raw.rope_parameters ?? raw.rope_scaling ?? null;
  const theta = raw.rope_parameters?.rope_theta ?? raw.rope_theta ?? 10000;
  const kind = params?.rope_type ?? params?.type ?? 'default';
  if (kind === 'default' || params === null) return { theta, scaling: { type: 'default' } };
  const need = (key: keyof z.infer<typeof ropeParams>): number => {
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

/** Validates a parsed `config.json` of a decoder LM and applies HF's defaults. */
export function parseLmConfig(json: unknown): LmConfig {
  const parsed = rawLmConfig.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new UnsupportedConfigError(`config.json is not a decoder-LM config: ${issues}`);
  }
  const raw = parsed.data;
  const defaults = familyDefaults[raw.model_type];
  if (!defaults) {
    throw new UnsupportedConfigError(
      `model_type '${raw.model_type}' has no decoder config rules; supported: ${Object.keys(familyDefaults).join(', ')}`,
    );
  }
  if (raw.use_sliding_window) {
    throw new UnsupportedConfigError(`use_sliding_window=true (${raw.model_type}) is not supported`);
  }
  const hiddenAct = raw.hidden_act ?? 'silu';
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
  const headDim = raw.head_dim ?? raw.hidden_size / numHeads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new UnsupportedConfigError(`head_dim ${headDim} must be an even integer (hidden_size / heads)`);
  }
  const rope = normaliseRope(raw);
  const attentionBias = raw.attention_bias ?? false;
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
    maxPositionEmbeddings: raw.max_position_embeddings ?? 2048,
    tieWordEmbeddings: raw.tie_word_embeddings ?? false,
    hiddenAct: hiddenAct as HiddenAct,
    qkvBias: defaults.qkvBias ?? attentionBias,
    oBias: defaults.qkvBias === null ? attentionBias : false,
    mlpBias: raw.mlp_bias ?? false,
    eosTokenIds: eos == null ? [] : Array.isArray(eos) ? eos : [eos],
    padTokenId: raw.pad_token_id ?? null,
  };
}
