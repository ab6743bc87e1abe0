// The Llama-family decoder body as a graph builder (Llama 2/3, SmolLM/SmolLM2, TinyLlama, and
// Qwen2/Qwen2.5, which is the same graph with q/k/v biases). Follows transformers'
// modeling_llama.py: pre-norm RMSNorm blocks, rotate-half RoPE on q and k, grouped-query attention
// (head h reads KV head h / (H/KV)), an additive causal + padding mask, SwiGLU MLP.
//
// Shapes (legend): B batch, T new tokens, P past tokens, S = P + T keys, d hidden size,
// H query heads, K KV heads, R = H/K queries per KV head, hd head dim, F MLP width.
//
// Positions are an input (`position_ids` [B,T]); the mask allows key j for query i when key j is
// not padding and its position (cumulative count of real keys - 1) is <= the query's position,
// which is HF's causal+padding mask for right padding and also correct for left padding.
// GQA never materialises repeated K/V: queries are grouped as [B,K,R*T,hd] so one batched MatMul
// per KV head serves all its query heads. Limits: no sliding window, no attention dropout.
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
  transpose,
  unsqueeze,
  type Value,
  where,
} from '@mmit/tensor';
import { act } from './activations.js';
import type { LmConfig } from './lm-config.js';

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
function rotaryTables(positionIds: Value, invFreq: Value): { cos: Value; sin: Value } {
  const freqs = mul(unsqueeze(cast(positionIds, 'float32'), [2]), invFreq); // (B, T, hd/2)
  const angles = unsqueeze(concat([freqs, freqs], 2), [1]); // (B, 1, T, hd)
  return { cos: cos(angles), sin: sin(angles) };
}

/** x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x2, x1), done as x @ R with a fixed ±1 matrix. */
function applyRotary(x: Value, tables: { cos: Value; sin: Value }, rotateHalf: Value): Value {
  return add(mul(x, tables.cos), mul(matmul(x, rotateHalf), tables.sin));
}

/** Additive mask (B, 1, T, S): 0 where query i may read key j, the most negative float32 elsewhere. */
function attentionBias(attentionMask: Value, positionIds: Value): Value {
  const keyIsReal = equal(attentionMask, 1); // (B, S)
  const keyPositions = sub(cumsum(attentionMask, 1), 1); // (B, S)
  const causal = lessOrEqual(unsqueeze(keyPositions, [1]), unsqueeze(positionIds, [2])); // (B, T, S)
  const allowed = and(unsqueeze(keyIsReal, [1]), causal); // (B, T, S)
  const zero = attentionMask.graph.scalar(0, 'float32');
  const masked = attentionMask.graph.scalar(maskedScore, 'float32');
  return unsqueeze(where(allowed, zero, masked), [1]); // (B, 1, T, S)
}

/** The ±1 permutation R with x @ R = rotate_half(x) = cat(-x[hd/2:], x[:hd/2]). */
export function rotateHalfMatrix(headDim: number): Float32Array {
  const half = headDim / 2;
  const r = new Float32Array(headDim * headDim);
  for (let i = 0; i < half; i++) {
    r[(i + half) * headDim + i] = -1; // out[i] = -x[i + half]
    r[i * headDim + (i + half)] = 1; // out[i + half] = x[i]
  }
  return r;
}

export interface DecoderConstants {
  invFreq: Value; // (hd/2) float32
  rotateHalf: Value; // (hd, hd) float32
}

function attention(
  c: LmConfig,
  layer: number,
  x: Value, // (B, T, d)
  bias: Value, // (B, 1, T, S)
  tables: { cos: Value; sin: Value },
  constants: DecoderConstants,
  linears: Linears,
  past: KeyValue | undefined,
): { out: Value; present: KeyValue } {
  const { numHeads: H, numKvHeads: K, headDim: hd } = c;
  const p = `layers.${layer}.attn`;
  const heads = (y: Value, n: number) => transpose(reshape(y, [0, 0, n, hd]), [0, 2, 1, 3]); // (B, n, T, hd)
  // The 1/sqrt(hd) scale goes on q (B*H*T*hd multiplies) rather than on the scores (B*H*T*S).
  const [qProj, kProj, vProj] = linears.group([`${p}.q`, `${p}.k`, `${p}.v`], x);
  const q = mul(applyRotary(heads(qProj, H), tables, constants.rotateHalf), 1 / Math.sqrt(hd));
  let k = applyRotary(heads(kProj, K), tables, constants.rotateHalf); // (B, K, T, hd)
  let v = heads(vProj, K); // (B, K, T, hd)
  if (past) {
    k = concat([past.key, k], 2); // (B, K, S, hd)
    v = concat([past.value, v], 2);
  }
  // Reshape targets use 0 (copy that dim) and -1 so that no symbolic length is needed at run time.
  const qGrouped = reshape(q, [0, K, -1, hd]); // (B, K, R*T, hd): head h = kv*R + r
  const scores = reshape(matmul(qGrouped, transpose(k, [0, 1, 3, 2])), [0, H, -1, 0]); // (B, H, T, S)
  const probs = softmax(add(scores, bias), -1);
  const context = matmul(reshape(probs, [0, K, -1, 0]), v); // (B, K, R*T, hd)
  const merged = reshape(transpose(reshape(context, [0, H, -1, hd]), [0, 2, 1, 3]), [0, 0, H * hd]); // (B, T, H*hd)
  return { out: linears.single(`${p}.o`, merged), present: { key: k, value: v } };
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
  const tables = g.scope('rotary', () => rotaryTables(inputs.positionIds, constants.invFreq));
  const bias = g.scope('mask', () => attentionBias(inputs.attentionMask, inputs.positionIds));
  let h = inputs.embeds;
  const present: KeyValue[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    h = g.scope(`layers.${i}`, () => {
      const normed = rmsNorm(h, weight(`layers.${i}.attn_norm.weight`), c.rmsNormEps);
      const attn = g.scope('attn', () =>
        attention(c, i, normed, bias, tables, constants, linears, inputs.past?.[i]),
      );
      present.push(attn.present);
      const mid = add(h, attn.out);
      const normed2 = rmsNorm(mid, weight(`layers.${i}.mlp_norm.weight`), c.rmsNormEps);
      return add(
        mid,
        g.scope('mlp', () => mlp(c, i, normed2, linears)),
      );
    });
  }
  const hidden = g.scope('norm', () => rmsNorm(h, weight('norm.weight'), c.rmsNormEps));
  return { hidden, present };
}
