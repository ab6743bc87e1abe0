// The decoder body every family in architectures/ shares, as a graph builder. Follows
// transformers' modeling_llama.py: pre-norm RMSNorm blocks, rotate-half RoPE on q and k,
// grouped-query attention (head h reads KV head h / (H/KV)), an additive causal + padding mask,
// a gated MLP. The config switches on what other families add: per-head q/k RMSNorm before RoPE
// (Qwen3, Gemma 3), sandwich norms on the attention and MLP outputs (Gemma), a score scale other
// than head_dim^-0.5 and tanh soft-capping of scores (Gemma 2), sliding-window layers with their
// own RoPE (Gemma 2/3, Phi-3), and RoPE on the leading dims of a head only (Phi-4-mini).
//
// Shapes (legend): B batch, T new tokens, P past tokens, S = P + T keys, d hidden size,
// H query heads, K KV heads, R = H/K queries per KV head, hd head dim, F MLP width.
//
// Positions are an input (`position_ids` [B,T]); the mask allows key j for query i when key j is
// not padding and its position (cumulative count of real keys - 1) is <= the query's position
// (and, on sliding layers, more than the window before it), which is HF's causal+padding mask for
// right padding and also correct for left padding. The cache keeps every key; a sliding layer
// masks the old ones, as HF's mask does. GQA never materialises repeated K/V: queries are grouped
// as [B,K,R*T,hd] so one batched MatMul per KV head serves all its query heads.
// Limits: no attention dropout.
import {
  add,
  and,
  cast,
  concat,
  cos,
  cumsum,
  equal,
  lessOrEqual,
  matmul,
  mul,
  reshape,
  rmsNorm,
  sin,
  softmax,
  sub,
  tanh,
  transpose,
  unsqueeze,
  type Value,
  where,
} from '@mmit/tensor';
import { act } from './activations.js';
import type { AttentionKind, LmConfig } from './lm-config.js';

/** Applies a named linear layer (our weight naming, e.g. `layers.0.attn.q`) to x; LoRA hooks in here. */
export type LinearFn = (name: string, x: Value) => Value;
/**
 * Applies several linears that read the same x (q/k/v; gate/up). The frozen LM runs them as one
 * MatMul on concatenated weights: fewer nodes, and a wider GEMM that runs closer to peak.
 */
export type LinearGroupFn = (names: string[], x: Value) => Value[];

/** The projections a decoder layer applies; `group` must equal mapping `single` over the names. */
export interface Linears {
  single: LinearFn;
  group: LinearGroupFn;
}
/** Returns a frozen tensor by our name (e.g. `layers.0.attn_norm.weight`). */
export type WeightFn = (name: string) => Value;

export interface KeyValue {
  key: Value; // (B, K, S, hd)
  value: Value; // (B, K, S, hd)
}

export interface DecoderInputs {
  embeds: Value; // (B, T, d)
  attentionMask: Value; // (B, S) int32, 1 = real token
  positionIds: Value; // (B, T) int32
  /** Per layer (B, K, P, hd); absent for a forward without cache. */
  past?: KeyValue[];
}

export interface DecoderOutputs {
  hidden: Value; // (B, T, d) after the final norm
  present: KeyValue[]; // per layer (B, K, S, hd)
}

/** Largest-magnitude float32, as HF's masks use (finite, so fully masked rows stay NaN-free). */
const maskedScore = -3.4028234663852886e38;

/** cos/sin tables for the rotary embedding: each (B, 1, T, hd), computed in float32 as HF does. */
function rotaryTables(positionIds: Value, angleRates: Value): RotaryTables {
  // angleRates is (hd): inv_freq twice, then zeros for dims RoPE passes through (cos 1, sin 0).
  const angles = mul(unsqueeze(cast(positionIds, 'float32'), [2]), angleRates); // (B, T, hd)
  const perHead = unsqueeze(angles, [1]); // (B, 1, T, hd)
  return { cos: cos(perHead), sin: sin(perHead) };
}

interface RotaryTables {
  cos: Value;
  sin: Value;
}

/** x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x2, x1), done as x @ R with a fixed ±1 matrix. */
function applyRotary(x: Value, tables: RotaryTables, rotateHalf: Value): Value {
  return add(mul(x, tables.cos), mul(matmul(x, rotateHalf), tables.sin));
}

/**
 * Additive mask (B, 1, T, S): 0 where query i may read key j, the most negative float32 elsewhere.
 * With a window, key j must also be less than `window` positions before the query.
 */
function attentionBias(attentionMask: Value, positionIds: Value, window: number | null): Value {
  const keyIsReal = equal(attentionMask, 1); // (B, S)
  const keyPositions = unsqueeze(sub(cumsum(attentionMask, 1), 1), [1]); // (B, 1, S)
  const queryPositions = unsqueeze(positionIds, [2]); // (B, T, 1)
  let allowed = and(unsqueeze(keyIsReal, [1]), lessOrEqual(keyPositions, queryPositions)); // (B, T, S)
  if (window !== null) {
    // HF's sliding overlay: kv_idx > q_idx - window, i.e. q - k <= window - 1.
    allowed = and(allowed, lessOrEqual(sub(queryPositions, keyPositions), window - 1));
  }
  const zero = attentionMask.graph.scalar(0, 'float32');
  const masked = attentionMask.graph.scalar(maskedScore, 'float32');
  return unsqueeze(where(allowed, zero, masked), [1]); // (B, 1, T, S)
}

/**
 * The ±1 matrix R with x @ R = rotate_half over the first `rotaryDim` dims of x (zero beyond:
 * those dims pass through, their sin is 0).
 */
export function rotateHalfMatrix(headDim: number, rotaryDim = headDim): Float32Array {
  const half = rotaryDim / 2;
  const r = new Float32Array(headDim * headDim);
  for (let i = 0; i < half; i++) {
    r[(i + half) * headDim + i] = -1; // out[i] = -x[i + half]
    r[i * headDim + (i + half)] = 1; // out[i + half] = x[i]
  }
  return r;
}

/** Per head dim, the angle per position: inv_freq (rotaryDim/2) twice, then zeros to headDim. */
export function ropeAngleRates(invFreq: Float32Array, headDim: number): Float32Array {
  const rates = new Float32Array(headDim);
  rates.set(invFreq, 0);
  rates.set(invFreq, invFreq.length);
  return rates;
}

export interface DecoderConstants {
  /** Per attention kind, (hd) float32 angle rates (ropeAngleRates); `sliding` when its RoPE differs. */
  angleRates: Value;
  slidingAngleRates?: Value;
  rotateHalf: Value; // (hd, hd) float32
}

/** What one layer's attention reads that depends on its kind. */
interface LayerContext {
  bias: Value; // (B, 1, T, S)
  tables: RotaryTables;
}

/** RMSNorm over the last dim with a (dim) weight; the weight fn already applies any offset. */
function norm(c: LmConfig, x: Value, weight: Value): Value {
  return rmsNorm(x, weight, c.rmsNormEps);
}

function attention(
  c: LmConfig,
  layer: number,
  x: Value, // (B, T, d)
  context: LayerContext,
  constants: DecoderConstants,
  weight: WeightFn,
  linears: Linears,
  past: KeyValue | undefined,
): { out: Value; present: KeyValue } {
  const { numHeads: H, numKvHeads: K, headDim: hd } = c;
  const p = `layers.${layer}.attn`;
  const heads = (y: Value, n: number) => transpose(reshape(y, [0, 0, n, hd]), [0, 2, 1, 3]); // (B, n, T, hd)
  const [qProj, kProj, vProj] = linears.group([`${p}.q`, `${p}.k`, `${p}.v`], x);
  let qHeads = heads(qProj, H);
  let kHeads = heads(kProj, K);
  if (c.qkNorm) {
    qHeads = norm(c, qHeads, weight(`${p}.q_norm.weight`));
    kHeads = norm(c, kHeads, weight(`${p}.k_norm.weight`));
  }
  // The score scale goes on q (B*H*T*hd multiplies) rather than on the scores (B*H*T*S).
  const q = mul(applyRotary(qHeads, context.tables, constants.rotateHalf), c.attentionScale);
  let k = applyRotary(kHeads, context.tables, constants.rotateHalf); // (B, K, T, hd)
  let v = heads(vProj, K); // (B, K, T, hd)
  if (past) {
    k = concat([past.key, k], 2); // (B, K, S, hd)
    v = concat([past.value, v], 2);
  }
  // Reshape targets use 0 (copy that dim) and -1 so that no symbolic length is needed at run time.
  const qGrouped = reshape(q, [0, K, -1, hd]); // (B, K, R*T, hd): head h = kv*R + r
  let scores = reshape(matmul(qGrouped, transpose(k, [0, 1, 3, 2])), [0, H, -1, 0]); // (B, H, T, S)
  if (c.attnLogitSoftcap !== null) scores = softcap(scores, c.attnLogitSoftcap);
  const probs = softmax(add(scores, context.bias), -1);
  const attended = matmul(reshape(probs, [0, K, -1, 0]), v); // (B, K, R*T, hd)
  const merged = reshape(transpose(reshape(attended, [0, H, -1, hd]), [0, 2, 1, 3]), [0, 0, H * hd]); // (B, T, H*hd)
  return { out: linears.single(`${p}.o`, merged), present: { key: k, value: v } };
}

/** cap * tanh(x / cap): Gemma 2's soft-capping of scores and logits. */
export function softcap(x: Value, cap: number): Value {
  return mul(tanh(mul(x, 1 / cap)), cap);
}

function mlp(c: LmConfig, layer: number, x: Value, linears: Linears): Value {
  const p = `layers.${layer}.mlp`;
  const [gate, up] = linears.group([`${p}.gate`, `${p}.up`], x); // (B, T, F) each
  return linears.single(`${p}.down`, mul(act(c.hiddenAct, gate), up)); // (B, T, d)
}

/** Runs every decoder layer and the final norm over `inputs.embeds`. */
export function decoderBody(
  c: LmConfig,
  inputs: DecoderInputs,
  weight: WeightFn,
  linears: Linears,
  constants: DecoderConstants,
): DecoderOutputs {
  const g = inputs.embeds.graph;
  // One mask and one pair of rotary tables per attention kind the layers use, built once.
  const contexts = new Map<AttentionKind, LayerContext>();
  const contextOf = (kind: AttentionKind): LayerContext => {
    let context = contexts.get(kind);
    if (!context) {
      const sliding = kind === 'sliding';
      const rates = sliding ? (constants.slidingAngleRates ?? constants.angleRates) : constants.angleRates;
      context = {
        tables: g.scope(sliding ? 'rotary_sliding' : 'rotary', () => rotaryTables(inputs.positionIds, rates)),
        bias: g.scope(sliding ? 'mask_sliding' : 'mask', () =>
          attentionBias(inputs.attentionMask, inputs.positionIds, sliding ? c.slidingWindow : null),
        ),
      };
      contexts.set(kind, context);
    }
    return context;
  };
  let h = inputs.embeds;
  const present: KeyValue[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    const context = contextOf(c.layerTypes[i]);
    h = g.scope(`layers.${i}`, () => {
      const normed = norm(c, h, weight(`layers.${i}.attn_norm.weight`));
      const attn = g.scope('attn', () =>
        attention(c, i, normed, context, constants, weight, linears, inputs.past?.[i]),
      );
      present.push(attn.present);
      const attnOut = c.sandwichNorms
        ? norm(c, attn.out, weight(`layers.${i}.post_attn_norm.weight`))
        : attn.out;
      const mid = add(h, attnOut);
      const normed2 = norm(c, mid, weight(`layers.${i}.mlp_norm.weight`));
      const mlpOut = g.scope('mlp', () => mlp(c, i, normed2, linears));
      return add(mid, c.sandwichNorms ? norm(c, mlpOut, weight(`layers.${i}.post_mlp_norm.weight`)) : mlpOut);
    });
  }
  const hidden = g.scope('norm', () => norm(c, h, weight('norm.weight')));
  return { hidden, present };
}
