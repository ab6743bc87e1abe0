// A decoder LM ready to be built into graphs: its checkpoint, normalised config, and the
// architecture picked from `config.model_type` through a registry (as transformers.js does).
// LLaVA checkpoints (`model_type: llava`) are accepted: the LM config is their `text_config`.
// `frozen(g)` places the checkpoint's weights in a graph as initializers (created on first use,
// so a graph holds only what it reads); the LM never has trainable weights here.
import { add, type Graph, type HostTensor, hostTensor, linear, split, type Value } from '@mmit/tensor';
import type { Checkpoint } from './checkpoint.js';
import {
  type DecoderConstants,
  decoderBody,
  type Linears,
  rotateHalfMatrix,
  type WeightFn,
} from './decoder.js';
import { type LmConfig, parseLmConfig } from './lm-config.js';
import { ropeInverseFrequencies } from './rope.js';

export class UnknownArchitectureError extends Error {
  override name = 'UnknownArchitectureError';
}

export interface Architecture {
  /** transformers class this graph reproduces, for messages. */
  hfClass: string;
  body: typeof decoderBody;
}

/** model_type -> architecture. Qwen2 differs from Llama only in config (q/k/v biases), see lm-config.ts. */
export const architectures: Record<string, Architecture> = {
  llama: { hfClass: 'LlamaForCausalLM', body: decoderBody },
  qwen2: { hfClass: 'Qwen2ForCausalLM', body: decoderBody },
};

export interface LanguageModel {
  readonly checkpoint: Checkpoint;
  readonly config: LmConfig;
  readonly architecture: Architecture;
  /** Frozen weights and constants of this LM inside graph `g`. */
  frozen(g: Graph): FrozenLm;
}

export interface FrozenLm {
  weight: WeightFn;
  /** Linear layers by our name (`layers.0.attn.q`), with the bias when the config gives one. */
  linears: Linears;
  constants: DecoderConstants;
  /** Token embedding table (V, d). */
  embedTable(): Value;
  /** LM head weight (V, d): the embedding table when tied. */
  headWeight(): Value;
}

function lmConfigJson(config: Record<string, unknown>): unknown {
  // Multimodal checkpoints nest the LM config; transformers reads `text_config` the same way.
  return config.model_type === 'llava' && config.text_config ? config.text_config : config;
}

/** Picks the architecture for a checkpoint; throws UnknownArchitectureError listing the valid model types. */
export function languageModelFromCheckpoint(checkpoint: Checkpoint): LanguageModel {
  const json = lmConfigJson(checkpoint.config) as { model_type?: unknown };
  const modelType = String(json.model_type);
  const architecture = architectures[modelType];
  if (!architecture) {
    throw new UnknownArchitectureError(
      `${checkpoint.dir}: model_type '${modelType}' is not a supported language model; valid: ${Object.keys(architectures).join(', ')}`,
    );
  }
  const config = parseLmConfig(json);
  const graphs = new WeakMap<Graph, FrozenLm>();
  return {
    checkpoint,
    config,
    architecture,
    frozen(g) {
      let frozen = graphs.get(g);
      if (!frozen) {
        frozen = frozenLm(g, checkpoint, config);
        graphs.set(g, frozen);
      }
      return frozen;
    },
  };
}

/** Concatenates tensors along dim 0 (stacking the rows of [out, in] weights, or biases). */
function stackRows(tensors: HostTensor<'float32'>[]): HostTensor<'float32'> {
  const rows = tensors.reduce((n, t) => n + t.dims[0], 0);
  const data = new Float32Array(tensors.reduce((n, t) => n + t.data.length, 0));
  let offset = 0;
  for (const t of tensors) {
    data.set(t.data, offset);
    offset += t.data.length;
  }
  return { dtype: 'float32', dims: [rows, ...tensors[0].dims.slice(1)], data };
}

/** Whether the config gives linear `name` a bias (a missing bias weight then fails loudly). */
function hasBias(config: LmConfig, name: string): boolean {
  if (/\.attn\.[qkv]$/.test(name)) return config.qkvBias;
  if (name.endsWith('.attn.o')) return config.oBias;
  return config.mlpBias;
}

function frozenLm(g: Graph, checkpoint: Checkpoint, config: LmConfig): FrozenLm {
  const values = new Map<string, Value>();
  const weight: WeightFn = (name) => {
    let value = values.get(name);
    if (!value) {
      value = g.initializer(name, checkpoint.weight(name));
      values.set(name, value);
    }
    return value;
  };
  const headName =
    config.tieWordEmbeddings || !checkpoint.has('head.weight') ? 'embed.weight' : 'head.weight';
  if (!config.tieWordEmbeddings && headName === 'embed.weight') {
    throw new UnknownArchitectureError(
      `${checkpoint.dir}: tie_word_embeddings is false but the checkpoint has no lm_head.weight`,
    );
  }
  const half = config.headDim / 2;
  const constants: DecoderConstants = {
    invFreq: g.initializer('rope.inv_freq', hostTensor('float32', [half], ropeInverseFrequencies(config))),
    rotateHalf: g.initializer(
      'rope.rotate_half',
      hostTensor('float32', [config.headDim, config.headDim], rotateHalfMatrix(config.headDim)),
    ),
  };
  const single = (name: string, x: Value) =>
    linear(x, weight(`${name}.weight`), hasBias(config, name) ? weight(`${name}.bias`) : undefined);
  // One initializer per group: rows of the [out, in] weights stacked, e.g. `layers.0.attn.q+k+v.weight`.
  const group = (names: string[], x: Value): Value[] => {
    const tensors = names.map((n) => checkpoint.weight(`${n}.weight`));
    const sizes = tensors.map((t) => t.dims[0]);
    const fusedName = `${names[0]}+${names
      .slice(1)
      .map((n) => n.split('.').pop())
      .join('+')}`;
    let fused = values.get(`${fusedName}.weight`);
    if (!fused) {
      fused = g.initializer(`${fusedName}.weight`, stackRows(tensors));
      values.set(`${fusedName}.weight`, fused);
      if (names.every((n) => hasBias(config, n))) {
        const bias = g.initializer(
          `${fusedName}.bias`,
          stackRows(names.map((n) => checkpoint.weight(`${n}.bias`))),
        );
        values.set(`${fusedName}.bias`, bias);
      }
    }
    const bias = values.get(`${fusedName}.bias`);
    const out = split(linear(x, fused, bias), -1, sizes);
    // A group whose members disagree on bias (Llama attention_bias=false has none; Qwen2 has all) adds them one by one.
    if (!bias)
      names.forEach((n, i) => {
        if (hasBias(config, n)) out[i] = add(out[i], weight(`${n}.bias`));
      });
    return out;
  };
  return {
    weight,
    linears: { single, group },
    constants,
    embedTable: () => weight('embed.weight'),
    headWeight: () => weight(headName),
  };
}
