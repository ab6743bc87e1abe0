// A decoder LM ready to be built into graphs: its checkpoint, normalised config, and the
// architecture picked from `config.model_type` through the registry (architectures/).
// LLaVA checkpoints (`model_type: llava`) are accepted: the LM config is their `text_config`.
// `frozen(g)` places the checkpoint's weights in a graph as initializers (created on first use,
// so a graph holds only what it reads); the LM never has trainable weights here. The family's
// own touches on the ends of the model live here too: the embedding scale (Gemma's sqrt(d)), norm
// weights stored as offsets from one, and the soft-capped head.
import {
  add,
  type Graph,
  gather,
  type HostTensor,
  hostTensor,
  linear,
  mul,
  split,
  type Value,
} from '@mmit/tensor';
import {
  type Architecture,
  architectureFor,
  lmConfigJson,
  parseLmConfig,
  UnknownArchitectureError,
} from './architectures/index.js';
import type { Checkpoint } from './checkpoint.js';
import {
  type DecoderConstants,
  decoderBody,
  type Linears,
  ropeAngleRates,
  rotateHalfMatrix,
  softcap,
  type WeightFn,
} from './decoder.js';
import type { LmConfig } from './lm-config.js';
import { ropeInverseFrequencies } from './rope.js';

export interface LanguageModel {
  readonly checkpoint: Checkpoint;
  readonly config: LmConfig;
  readonly architecture: Architecture;
  /** The decoder body (decoder.ts), which every registered family shares. */
  readonly body: typeof decoderBody;
  /** Frozen weights and constants of this LM inside graph `g`. */
  frozen(g: Graph): FrozenLm;
}

export interface FrozenLm {
  weight: WeightFn;
  /** Linear layers by our name (`layers.0.attn.q`), with the bias when the config gives one. */
  linears: Linears;
  constants: DecoderConstants;
  /** Token embeddings (B, T, d) of ids (B, T) int32, with the family's scale. */
  embed(ids: Value): Value;
  /** Logits (B, T, V) of final hidden states, with the family's soft-cap. */
  head(hidden: Value): Value;
}

/** Picks the architecture for a checkpoint; throws UnknownArchitectureError listing the valid model types. */
export function languageModelFromCheckpoint(checkpoint: Checkpoint): LanguageModel {
  const json = lmConfigJson(checkpoint.config);
  const architecture = architectureFor(String(json.model_type), checkpoint.dir);
  const config = parseLmConfig(json);
  const graphs = new WeakMap<Graph, FrozenLm>();
  return {
    checkpoint,
    config,
    architecture,
    body: decoderBody,
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

/** The RoPE constants of `config` as initializers of `g` (a second rate table for Gemma 3's sliding layers). */
export function decoderConstants(g: Graph, config: LmConfig): DecoderConstants {
  const { headDim, rotaryDim } = config;
  const rates = (name: string, theta: number, scaling: LmConfig['ropeScaling']) =>
    g.initializer(
      name,
      hostTensor(
        'float32',
        [headDim],
        ropeAngleRates(
          ropeInverseFrequencies({ headDim: rotaryDim, ropeTheta: theta, ropeScaling: scaling }),
          headDim,
        ),
      ),
    );
  return {
    angleRates: rates('rope.angle_rates', config.ropeTheta, config.ropeScaling),
    slidingAngleRates: config.slidingRope
      ? rates('rope.sliding_angle_rates', config.slidingRope.theta, config.slidingRope.scaling)
      : undefined,
    rotateHalf: g.initializer(
      'rope.rotate_half',
      hostTensor('float32', [headDim, headDim], rotateHalfMatrix(headDim, rotaryDim)),
    ),
  };
}

/** Norm weights (`*norm.weight`) as the norm uses them: stored offset + w (Gemma stores w - 1). */
function normWeight(tensor: HostTensor<'float32'>, offset: number): HostTensor<'float32'> {
  if (offset === 0) return tensor;
  // transformers computes (1.0 + w) in float32.
  return { ...tensor, data: tensor.data.map((w) => Math.fround(offset + w)) };
}

/** Concatenates tensors along dim 0 (stacking the rows of [out, in] weights, or biases). */
export function stackRows(tensors: HostTensor<'float32'>[]): HostTensor<'float32'> {
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
      const tensor = checkpoint.weight(name);
      value = g.initializer(
        name,
        name.endsWith('norm.weight') ? normWeight(tensor, config.normWeightOffset) : tensor,
      );
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
  const constants = decoderConstants(g, config);
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
    embed(ids) {
      const embeds = gather(weight('embed.weight'), ids, 0); // (B, T, d)
      return config.embedScale === 1 ? embeds : mul(embeds, config.embedScale);
    },
    head(hidden) {
      const logits = linear(hidden, weight(headName)); // (B, T, V)
      return config.finalLogitSoftcap === null ? logits : softcap(logits, config.finalLogitSoftcap);
    },
  };
}
