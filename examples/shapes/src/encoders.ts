// Small frozen encoders with random weights, written as real Hugging Face checkpoint folders from
// their configs: a CLIP-shaped vision tower and a Whisper-shaped audio encoder. No pretrained
// weights can be downloaded here, so the projector has to learn to read features that carry the
// input only through random projections (as a random-features model does).
// Initialisation is PyTorch's module defaults (linear/conv weights and biases U(+-1/sqrt(fan_in)),
// except He's bound for the input layers, below),
// embeddings N(0, 1)), not transformers' _init_weights (N(0, 0.02) everywhere): at 0.02 the
// position embeddings are ~30x smaller than the patch embeddings, and which place a shape sits in
// would reach the features only as a 3% ripple (at N(0, 1) it bends colour; the vision tower's are
// N(0, 0.4^2): VISION_POSITION_SCALE). Whisper's positions are sinusoidal, as in HF.
// Sizes: 48 px pictures in 16 px patches give one token per cell of media's 3x3 grid (9 tokens);
// 2 s audio windows at a 40 ms hop give 50 log-mel frames and 25 encoder frames (80 ms each).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '@mmit/media';
import { type HostTensor, writeSafetensors } from '@mmit/tensor';
import { gaussian } from './gaussian.js';

export const VISION_SIZES = {
  hiddenSize: 128,
  intermediateSize: 256,
  numLayers: 2,
  heads: 4,
  imageSize: 48,
  patchSize: 16,
} as const;

export const AUDIO_SIZES = {
  dModel: 64,
  layers: 1,
  heads: 4,
  ffn: 128,
  melBins: 40,
  /** Encoder frames: half the log-mel frames of one window (80 ms each). */
  positions: 25,
  hopLength: 640,
  chunkSeconds: 2,
} as const;

/** The hidden_states index the projector reads (LLaVA's vision_feature_layer = -2: after layer 0 of 2). */
export const VISION_FEATURE_LAYER = -2;

/**
 * The input layers (patch embedding, Whisper's convs) use He's uniform bound, sqrt(6 / fan_in):
 * at PyTorch's default bound, 1 / sqrt(fan_in), what a patch or a frame holds reaches the
 * features at a third of the position embeddings' size. Measured with a nearest-class-mean probe
 * per row (train split fitted, test split scored): patch colour 0.73 -> 0.93, patch kind 0.69 ->
 * 0.91, frame quiet/low/high 0.56 -> 0.87.
 */
const HE_GAIN = Math.sqrt(6);

/**
 * The vision tower's position embeddings are N(0, 0.4^2), not nn.Embedding's N(0, 1). Through the
 * tower's LayerNorms and GELUs a large place signal bends what a patch's colour looks like, so a
 * projector taught a colour at four places misread it at the fifth (the held-out places). Too
 * small, and the place itself fades. Engine-only, pictures only, seeds 1-6 (colour / shape /
 * position, the worst seed of six):
 *   1.0: 0.86 / 0.85 / 0.85 (seed 1's held-out "purple at center" read as red 5 times in 6)
 *   0.5: 0.90 / 0.90 / 0.87
 *   0.4: 0.97 / 0.90 / 0.82
 *   0.3: 0.92 / 0.95 / 0.78, and 0.1 on seeds 1 and 3: position 0.79 and 0.76.
 */
export const VISION_POSITION_SCALE = 0.4;

class Init {
  private readonly rng: () => number;
  readonly tensors: Record<string, HostTensor> = {};
  constructor(seed: number) {
    this.rng = createRng(seed);
  }
  private put(name: string, dims: number[], fill: (i: number) => number) {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = fill(i);
    this.tensors[name] = { dtype: 'float32', dims, data };
  }
  /**
   * nn.Linear / nn.Conv default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias; `gain`
   * widens the weights' bound (sqrt(6) is He's uniform initialisation for (Ge)LU layers).
   */
  linear(name: string, dims: number[], bias = true, gain = 1) {
    const fanIn = dims.slice(1).reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(fanIn);
    this.put(`${name}.weight`, dims, () => (this.rng() * 2 - 1) * bound * gain);
    if (bias) this.put(`${name}.bias`, [dims[0]], () => (this.rng() * 2 - 1) * bound);
  }
  /** nn.Embedding default: N(0, 1), or N(0, scale^2). */
  normal(name: string, dims: number[], scale = 1) {
    this.put(name, dims, () => gaussian(this.rng, scale));
  }
  layerNorm(name: string, size: number) {
    this.put(`${name}.weight`, [size], () => 1);
    this.put(`${name}.bias`, [size], () => 0);
  }
  fixed(name: string, dims: number[], fill: (i: number) => number) {
    this.put(name, dims, fill);
  }
}

function writeFolder(
  dir: string,
  config: unknown,
  preprocessor: unknown,
  tensors: Record<string, HostTensor>,
) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify(preprocessor, null, 2));
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
}

/** A CLIPVisionModel folder (weights without prefix, as transformers 5 saves it). */
export function writeRandomClipVision(dir: string, seed: number): void {
  const s = VISION_SIZES;
  const d = s.hiddenSize;
  const init = new Init(seed);
  const patches = (s.imageSize / s.patchSize) ** 2;
  init.normal('embeddings.class_embedding', [d]);
  init.linear('embeddings.patch_embedding', [d, 3, s.patchSize, s.patchSize], false, HE_GAIN);
  init.normal('embeddings.position_embedding.weight', [patches + 1, d], VISION_POSITION_SCALE);
  init.layerNorm('pre_layrnorm', d);
  for (let i = 0; i < s.numLayers; i++) {
    const p = `encoder.layers.${i}`;
    init.layerNorm(`${p}.layer_norm1`, d);
    for (const x of ['q', 'k', 'v', 'out']) init.linear(`${p}.self_attn.${x}_proj`, [d, d]);
    init.layerNorm(`${p}.layer_norm2`, d);
    init.linear(`${p}.mlp.fc1`, [s.intermediateSize, d]);
    init.linear(`${p}.mlp.fc2`, [d, s.intermediateSize]);
  }
  init.layerNorm('post_layernorm', d);
  const config = {
    architectures: ['CLIPVisionModel'],
    model_type: 'clip_vision_model',
    hidden_size: d,
    intermediate_size: s.intermediateSize,
    num_hidden_layers: s.numLayers,
    num_attention_heads: s.heads,
    num_channels: 3,
    image_size: s.imageSize,
    patch_size: s.patchSize,
    hidden_act: 'quick_gelu',
    layer_norm_eps: 1e-5,
  };
  const preprocessor = {
    image_processor_type: 'CLIPImageProcessor',
    do_resize: true,
    size: { shortest_edge: s.imageSize },
    do_center_crop: true,
    crop_size: { height: s.imageSize, width: s.imageSize },
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_std: [0.26862954, 0.26130258, 0.27577711],
    do_convert_rgb: true,
    resample: 3,
  };
  writeFolder(dir, config, preprocessor, init.tensors);
}

/** HF's sinusoidal Whisper positions: sin over the first half of the channels, cos over the second. */
function sinusoid(channels: number): (i: number) => number {
  const half = channels / 2;
  const increment = Math.log(10000) / (half - 1);
  return (i) => {
    const t = Math.floor(i / channels);
    const c = i % channels;
    const k = c < half ? c : c - half;
    const angle = t * Math.exp(-increment * k);
    return c < half ? Math.sin(angle) : Math.cos(angle);
  };
}

/** A WhisperModel folder holding the encoder only (the decoder is never built). */
export function writeRandomWhisperEncoder(dir: string, seed: number): void {
  const s = AUDIO_SIZES;
  const d = s.dModel;
  const init = new Init(seed);
  init.linear('encoder.conv1', [d, s.melBins, 3], true, HE_GAIN);
  init.linear('encoder.conv2', [d, d, 3], true, HE_GAIN);
  init.fixed('encoder.embed_positions.weight', [s.positions, d], sinusoid(d));
  for (let i = 0; i < s.layers; i++) {
    const p = `encoder.layers.${i}`;
    init.layerNorm(`${p}.self_attn_layer_norm`, d);
    init.linear(`${p}.self_attn.q_proj`, [d, d]);
    init.linear(`${p}.self_attn.k_proj`, [d, d], false);
    init.linear(`${p}.self_attn.v_proj`, [d, d]);
    init.linear(`${p}.self_attn.out_proj`, [d, d]);
    init.layerNorm(`${p}.final_layer_norm`, d);
    init.linear(`${p}.fc1`, [s.ffn, d]);
    init.linear(`${p}.fc2`, [d, s.ffn]);
  }
  init.layerNorm('encoder.layer_norm', d);
  const config = {
    architectures: ['WhisperModel'],
    model_type: 'whisper',
    d_model: d,
    encoder_layers: s.layers,
    encoder_attention_heads: s.heads,
    encoder_ffn_dim: s.ffn,
    num_mel_bins: s.melBins,
    max_source_positions: s.positions,
    activation_function: 'gelu',
  };
  const preprocessor = {
    feature_extractor_type: 'WhisperFeatureExtractor',
    feature_size: s.melBins,
    sampling_rate: 16000,
    hop_length: s.hopLength,
    chunk_length: s.chunkSeconds,
    n_fft: 400,
    n_samples: 16000 * s.chunkSeconds,
    nb_max_frames: (16000 * s.chunkSeconds) / s.hopLength,
    padding_value: 0,
    dither: 0,
  };
  writeFolder(dir, config, preprocessor, init.tensors);
}
