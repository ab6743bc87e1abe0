// Whisper's audio encoder (transformers' WhisperEncoder) as a frozen ONNX graph, from a
// WhisperModel (`encoder.`), WhisperForConditionalGeneration (`model.encoder.`) or any
// checkpoint that embeds one. conv1 (k3, pad 1) + GELU, conv2 (k3, stride 2, pad 1) + GELU,
// plus embed_positions, pre-LN layers (k_proj has no bias), final layer_norm.
// The convs always use exact GELU, as HF does; `activation_function` applies to the MLPs.
// Input `input_features` float32 (B, n_mels, 2 * max_source_positions) (the 30 s log-mel
// window from log-mel.ts); output `last_hidden_state` (B, max_source_positions, d_model).
// Limits: the full window only (HF rejects other lengths too); no attention mask (Whisper
// attends over the padding, as HF does); the decoder is not built.
import { add, conv, Graph, gelu, layerNorm, transpose, type Value } from '@mmit/tensor';
import { z } from 'zod';
import { type HubOptions, resolveCheckpoint } from './hub.js';
import {
  type EncoderLayerNames,
  type EncoderWeights,
  encoderLayer,
  FeatureRequestError,
  frozenWeight,
  hiddenStateIndex,
  openEncoderWeights,
  readConfigSection,
} from './vision-tower.js';

/** The encoder's part of WhisperConfig, with transformers' defaults. */
export const WhisperEncoderConfigSchema = z.object({
  d_model: z.number().int().positive().default(384),
  encoder_layers: z.number().int().positive().default(4),
  encoder_attention_heads: z.number().int().positive().default(6),
  encoder_ffn_dim: z.number().int().positive().default(1536),
  num_mel_bins: z.number().int().positive().default(80),
  max_source_positions: z.number().int().positive().default(1500),
  activation_function: z.string().default('gelu'),
});

export interface WhisperEncoderConfig {
  hiddenSize: number;
  numLayers: number;
  heads: number;
  ffnSize: number;
  melBins: number;
  /** Output frames; the input window is twice as long (conv2 has stride 2). */
  positions: number;
  act: string;
}

const whisperLayerNames: EncoderLayerNames = {
  norm1: 'self_attn_layer_norm',
  q: 'self_attn.q_proj',
  k: 'self_attn.k_proj',
  v: 'self_attn.v_proj',
  out: 'self_attn.out_proj',
  norm2: 'final_layer_norm',
  fc1: 'fc1',
  fc2: 'fc2',
};

/** nn.LayerNorm's default: Whisper's config has no eps key. */
const WHISPER_LAYER_NORM_EPS = 1e-5;

export interface WhisperEncoder {
  readonly kind: 'whisper';
  readonly dir: string;
  readonly config: WhisperEncoderConfig;
  readonly weights: EncoderWeights;
  /** Mel frames the graph takes (2 * max_source_positions = 3000). */
  readonly inputFrames: number;
}

export function openWhisperEncoder(dir: string, options: { prefix?: string } = {}): WhisperEncoder {
  const parsed = WhisperEncoderConfigSchema.safeParse(readConfigSection(dir, 'audio_config'));
  if (!parsed.success) throw new FeatureRequestError(`${dir}/config.json: ${z.prettifyError(parsed.error)}`);
  const raw = parsed.data;
  const config: WhisperEncoderConfig = {
    hiddenSize: raw.d_model,
    numLayers: raw.encoder_layers,
    heads: raw.encoder_attention_heads,
    ffnSize: raw.encoder_ffn_dim,
    melBins: raw.num_mel_bins,
    positions: raw.max_source_positions,
    act: raw.activation_function,
  };
  const weights = openEncoderWeights(dir, 'conv1.weight', 'Whisper encoder', options.prefix);
  return { kind: 'whisper', dir, config, weights, inputFrames: 2 * config.positions };
}

export async function loadWhisperEncoder(
  idOrPath: string,
  options: { prefix?: string } & HubOptions = {},
): Promise<WhisperEncoder> {
  return openWhisperEncoder(await resolveCheckpoint(idOrPath, options), options);
}

/** Encoder frames that hold audio, for `realFrames` mel frames of it: conv2 maps L to ceil(L / 2). */
export function encoderFramesFor(realFrames: number): number {
  return Math.ceil(realFrames / 2);
}

export interface WhisperRequest {
  /** hidden_states indexes ([0] = after the convs and positions, [-1] = last layer before layer_norm), output as `hidden_states.<i>`. */
  hiddenStates?: number[];
  /** Default true: `last_hidden_state` (after the final layer_norm). */
  lastHiddenState?: boolean;
}

export function buildWhisperEncoderGraph(encoder: WhisperEncoder, request: WhisperRequest = {}): Graph {
  const { config, weights } = encoder;
  const g = new Graph('whisper_encoder');
  const features = g.input('input_features', 'float32', ['batch', config.melBins, encoder.inputFrames]);
  const w = (name: string) => frozenWeight(g, weights, name);

  const embedded = g.scope('embeddings', () => {
    const c1 = gelu(conv(features, w('conv1.weight'), w('conv1.bias'), { pads: [1, 1] })); // (B, D, 2P)
    const c2 = gelu(conv(c1, w('conv2.weight'), w('conv2.bias'), { pads: [1, 1], strides: [2] })); // (B, D, P)
    return add(transpose(c2, [0, 2, 1]), w('embed_positions.weight')); // (B, P, D)
  });

  const wantLast = request.lastHiddenState ?? true;
  const indexes = (request.hiddenStates ?? []).map((i) => hiddenStateIndex(i, config.numLayers));
  const count = wantLast ? config.numLayers : Math.max(0, ...indexes);
  const hidden: Value[] = [embedded];
  const spec = {
    hiddenSize: config.hiddenSize,
    heads: config.heads,
    eps: WHISPER_LAYER_NORM_EPS,
    act: config.act,
  };
  for (let i = 0; i < count; i++) {
    hidden.push(
      g.scope(`layers.${i}`, () =>
        encoderLayer(g, hidden[i], weights, `layers.${i}.`, whisperLayerNames, spec),
      ),
    );
  }
  (request.hiddenStates ?? []).forEach((index, k) => {
    g.output(`hidden_states.${index}`, hidden[indexes[k]]);
  });
  if (wantLast) {
    const last = g.scope('layer_norm', () =>
      layerNorm(
        hidden[config.numLayers],
        w('layer_norm.weight'),
        w('layer_norm.bias'),
        WHISPER_LAYER_NORM_EPS,
      ),
    );
    g.output('last_hidden_state', last);
  }
  if (g.outputs.length === 0)
    throw new FeatureRequestError('whisper_encoder: the request asks for no output');
  return g;
}
