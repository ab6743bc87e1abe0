// The tiny language model of the proof: a Llama-shaped config with random weights, written as a
// real Hugging Face checkpoint folder (config.json + model.safetensors + the word tokenizer), so
// the trainer and the server load it exactly as they would load SmolLM2 or Qwen2.5.
// Weights are held under our names (`layers.0.attn.q.weight`); the HF names come from
// @mmit/models' own name table, so a name this file writes is one the loader reads.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '@mmit/media';
import { architectures, ourWeightName } from '@mmit/models';
import { type HostTensor, writeSafetensors } from '@mmit/tensor';
import { gaussians } from './gaussian.js';

export interface TinyLmSizes {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
}

export const DEFAULT_LM_SIZES: Omit<TinyLmSizes, 'vocabSize'> = {
  hiddenSize: 128,
  intermediateSize: 256,
  numLayers: 2,
  numHeads: 4,
};

/** The token ids the config names (the word tokenizer's specials). */
export interface TinyLmTokens {
  eosTokenId: number;
  padTokenId: number;
}

/** transformers' LlamaConfig for these sizes; tied embeddings keep the head free. */
export function tinyLmConfig(sizes: TinyLmSizes, tokens: TinyLmTokens): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: sizes.vocabSize,
    hidden_size: sizes.hiddenSize,
    intermediate_size: sizes.intermediateSize,
    num_hidden_layers: sizes.numLayers,
    num_attention_heads: sizes.numHeads,
    num_key_value_heads: sizes.numHeads,
    head_dim: sizes.hiddenSize / sizes.numHeads,
    hidden_act: 'silu',
    max_position_embeddings: 512,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: null,
    eos_token_id: tokens.eosTokenId,
    pad_token_id: tokens.padTokenId,
    torch_dtype: 'float32',
  };
}

/** HF names of every weight of a tied Llama with these sizes, in HF's module order. */
export function hfWeightNames(sizes: TinyLmSizes): string[] {
  const names = ['model.embed_tokens.weight'];
  for (let i = 0; i < sizes.numLayers; i++) {
    const p = `model.layers.${i}`;
    names.push(
      `${p}.input_layernorm.weight`,
      ...['q', 'k', 'v', 'o'].map((x) => `${p}.self_attn.${x}_proj.weight`),
      `${p}.post_attention_layernorm.weight`,
      ...['gate', 'up', 'down'].map((x) => `${p}.mlp.${x}_proj.weight`),
    );
  }
  names.push('model.norm.weight');
  return names;
}

export interface TinyLmWeight {
  hf: string;
  ours: string;
  dims: number[];
}

/** Every weight with its HF name, our name and dims. */
export function tinyLmWeights(sizes: TinyLmSizes): TinyLmWeight[] {
  const d = sizes.hiddenSize;
  const dimsOf = (ours: string): number[] => {
    if (ours === 'embed.weight') return [sizes.vocabSize, d];
    if (ours.endsWith('norm.weight')) return [d];
    if (/mlp\.(gate|up)/.test(ours)) return [sizes.intermediateSize, d];
    if (ours.endsWith('mlp.down.weight')) return [d, sizes.intermediateSize];
    return [d, d];
  };
  return hfWeightNames(sizes).map((hf) => {
    const ours = ourWeightName(architectures.llama.weights, hf);
    if (ours === null) throw new Error(`@mmit/models has no name for weight ${hf}`);
    return { hf, ours, dims: dimsOf(ours) };
  });
}

/** transformers' Llama initialisation: N(0, 0.02) matrices and embeddings, norms at one. Keyed by our names. */
export function initTinyLm(sizes: TinyLmSizes, seed: number): Record<string, Float32Array> {
  const rng = createRng(seed);
  const out: Record<string, Float32Array> = {};
  for (const w of tinyLmWeights(sizes)) {
    const count = w.dims.reduce((a, b) => a * b, 1);
    out[w.ours] = w.ours.endsWith('norm.weight')
      ? new Float32Array(count).fill(1)
      : gaussians(rng, count, 0.02);
  }
  return out;
}

/** Writes config.json + model.safetensors (HF names) into `dir`; the tokenizer files are written apart. */
export function writeTinyLmCheckpoint(
  dir: string,
  sizes: TinyLmSizes,
  tokens: TinyLmTokens,
  weights: Record<string, Float32Array>,
  metadata: Record<string, string> = {},
): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyLmConfig(sizes, tokens), null, 2));
  const tensors: Record<string, HostTensor> = {};
  for (const w of tinyLmWeights(sizes)) {
    tensors[w.hf] = { dtype: 'float32', dims: w.dims, data: weights[w.ours] };
  }
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt', ...metadata });
}
