// The `bench-small` workload: a SmolLM2-135M-shaped Llama (d 576, 30 layers, 9 heads, 3 KV heads,
// FFN 1536, vocab 49152, tied head) with random weights, written once as a real Hugging Face
// checkpoint folder (config.json + model.safetensors with `model.*` names) so the bench goes
// through the same loader as real models; and one LLaVA stage-1 batch: 2 rows of 144 `<image>`
// tokens (features of width 1024) followed by 48 caption tokens that carry the labels (other
// shapes through BenchBatchShape, e.g. llavaStage1Batch for bench/gpu).
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultCacheDir } from '../../packages/models/src/hub.js';
import { initProjector, type ProjectorSpec } from '../../packages/models/src/projector.js';
import { mulberry32 } from '../../packages/random/src/index.js';
import { type HostTensor, hostTensor, writeSafetensors } from '../../packages/tensor/src/index.js';

export const benchSmallConfig = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: 49152,
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  head_dim: 64,
  hidden_act: 'silu',
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  tie_word_embeddings: true,
  bos_token_id: 0,
  eos_token_id: 0,
  pad_token_id: 2,
};

export const benchSmallBatch = {
  batch: 2,
  imageTokens: 144,
  featureDim: 1024,
  textTokens: 48,
  imageTokenId: 49151,
};

/** Normal(0, std) from a seeded uniform generator (Box-Muller). */
function gaussian(n: number, std: number, random: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - random())) * std;
    const theta = 2 * Math.PI * random();
    out[i] = r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

/** Writes the random checkpoint under the cache dir once and returns its folder. */
export function ensureBenchSmallCheckpoint(cacheDir = join(defaultCacheDir(), 'bench')): string {
  const dir = join(cacheDir, 'bench-small-llama');
  if (existsSync(join(dir, 'config.json'))) return dir;
  mkdirSync(dir, { recursive: true });
  const c = benchSmallConfig;
  const random = mulberry32(135);
  const kv = c.num_key_value_heads * c.head_dim;
  const tensors: Record<string, HostTensor> = {
    'model.embed_tokens.weight': hostTensor(
      'float32',
      [c.vocab_size, c.hidden_size],
      gaussian(c.vocab_size * c.hidden_size, 0.02, random),
    ),
    'model.norm.weight': hostTensor('float32', [c.hidden_size], new Float32Array(c.hidden_size).fill(1)),
  };
  const linear = (name: string, out: number, inp: number) => {
    tensors[name] = hostTensor('float32', [out, inp], gaussian(out * inp, 0.02, random));
  };
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    linear(`${p}.self_attn.q_proj.weight`, c.hidden_size, c.hidden_size);
    linear(`${p}.self_attn.k_proj.weight`, kv, c.hidden_size);
    linear(`${p}.self_attn.v_proj.weight`, kv, c.hidden_size);
    linear(`${p}.self_attn.o_proj.weight`, c.hidden_size, c.hidden_size);
    linear(`${p}.mlp.gate_proj.weight`, c.intermediate_size, c.hidden_size);
    linear(`${p}.mlp.up_proj.weight`, c.intermediate_size, c.hidden_size);
    linear(`${p}.mlp.down_proj.weight`, c.hidden_size, c.intermediate_size);
    for (const norm of ['input_layernorm', 'post_attention_layernorm']) {
      tensors[`${p}.${norm}.weight`] = hostTensor(
        'float32',
        [c.hidden_size],
        new Float32Array(c.hidden_size).fill(1),
      );
    }
  }
  writeSafetensors(join(dir, 'model.safetensors.part'), tensors, { format: 'pt' });
  // Renamed into place before config.json appears, so a half-written folder is never taken as complete.
  renameSync(join(dir, 'model.safetensors.part'), join(dir, 'model.safetensors'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(c, null, 2));
  return dir;
}

export interface BenchBatch {
  features: HostTensor;
  inputIds: HostTensor;
  attentionMask: HostTensor;
  labels: HostTensor;
}

/** A batch shape: rows, `<image>` tokens (= feature rows) per row, feature width, caption tokens. */
export type BenchBatchShape = typeof benchSmallBatch;

/** The LLaVA stage-1 shape (bench/gpu): 576 CLIP-L/14-336 feature rows + 64 caption tokens, batch 16. */
export const llavaStage1Batch: BenchBatchShape = {
  batch: 16,
  imageTokens: 576,
  featureDim: 1024,
  textTokens: 64,
  imageTokenId: 49151,
};

export function benchSmallInputs(shape: BenchBatchShape = benchSmallBatch): {
  batch: BenchBatch;
  projector: ProjectorSpec;
  params: Record<string, Float32Array>;
} {
  const { batch: B, imageTokens: N, featureDim, textTokens, imageTokenId } = shape;
  const T = N + textTokens;
  const random = mulberry32(7);
  const ids = new Int32Array(B * T);
  const labels = new Int32Array(B * T).fill(-100);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const token = t < N ? imageTokenId : 3 + Math.floor(random() * 49000);
      ids[b * T + t] = token;
      if (t >= N) labels[b * T + t] = token;
    }
  }
  const projector: ProjectorSpec = {
    type: 'mlp2x_gelu',
    inputDim: featureDim,
    outputDim: benchSmallConfig.hidden_size,
  };
  return {
    batch: {
      features: hostTensor('float32', [B, N, featureDim], gaussian(B * N * featureDim, 1, random)),
      inputIds: { dtype: 'int32', dims: [B, T], data: ids },
      attentionMask: { dtype: 'int32', dims: [B, T], data: new Int32Array(B * T).fill(1) },
      labels: { dtype: 'int32', dims: [B, T], data: labels },
    },
    projector,
    params: initProjector(projector, 11),
  };
}
