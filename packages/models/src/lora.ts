// LoRA adapters on the frozen LM's linear layers (PEFT semantics): y = W x + (alpha / r) B A x,
// A (r, in) and B (out, r) trainable graph parameters, W frozen. Targets use PEFT's module names
// (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj). A starts kaiming-uniform and B
// at zero, as PEFT does, so an untrained adapter leaves the model unchanged.
import type { LoraTarget } from '@mmit/contracts';
import { mulberry32 } from '@mmit/random';
import { add, type Graph, linear, mul, type Value } from '@mmit/tensor';
import type { LinearFn, Linears } from './decoder.js';
import type { LanguageModel } from './language-model.js';

/** PEFT module name (the run spec's `lora.targets`, @mmit/contracts) -> our linear name inside a layer. */
export const loraTargetNames = {
  q_proj: 'attn.q',
  k_proj: 'attn.k',
  v_proj: 'attn.v',
  o_proj: 'attn.o',
  gate_proj: 'mlp.gate',
  up_proj: 'mlp.up',
  down_proj: 'mlp.down',
} as const satisfies Record<LoraTarget, string>;
export type { LoraTarget };

export interface LoraOptions {
  targets: LoraTarget[];
  rank: number;
  alpha: number;
}

export class LoraConfigError extends Error {
  override name = 'LoraConfigError';
}

/** Adapter parameter names and dims: `lora.layers.3.attn.q.A` (r, in) and `.B` (out, r). */
export function loraParamDims(lm: LanguageModel, options: LoraOptions): Record<string, number[]> {
  if (!Number.isInteger(options.rank) || options.rank <= 0)
    throw new LoraConfigError(`LoRA rank ${options.rank} must be a positive integer`);
  const dims: Record<string, number[]> = {};
  for (const target of options.targets) {
    const ours = loraTargetNames[target];
    if (!ours) {
      throw new LoraConfigError(
        `LoRA target '${target}' is unknown; valid: ${Object.keys(loraTargetNames).join(', ')}`,
      );
    }
    for (let i = 0; i < lm.config.numLayers; i++) {
      const [out, inp] = lm.checkpoint.dims(`layers.${i}.${ours}.weight`);
      dims[`lora.layers.${i}.${ours}.A`] = [options.rank, inp];
      dims[`lora.layers.${i}.${ours}.B`] = [out, options.rank];
    }
  }
  return dims;
}

/** Declares the adapters as graph params and wraps `base` so targeted layers add their LoRA path. */
export function withLora(
  g: Graph,
  lm: LanguageModel,
  options: LoraOptions,
  base: Linears,
): { linears: Linears; params: Record<string, Value> } {
  const params: Record<string, Value> = {};
  for (const [name, dims] of Object.entries(loraParamDims(lm, options)))
    params[name] = g.param(name, 'float32', dims);
  const scale = options.alpha / options.rank;
  // Adds the adapter's path to a frozen output y = W x when `name` is a target.
  const adapt = (name: string, x: Value, y: Value): Value => {
    const a = params[`lora.${name}.A`];
    if (!a) return y;
    const b = params[`lora.${name}.B`];
    return g.scope('lora', () => add(y, mul(linear(linear(x, a), b), scale)));
  };
  const single: LinearFn = (name, x) => adapt(name, x, base.single(name, x));
  return {
    linears: { single, group: (names, x) => base.group(names, x).map((y, i) => adapt(names[i], x, y)) },
    params,
  };
}

/** PEFT's initial adapter values: A ~ U(-1/sqrt(in), 1/sqrt(in)), B = 0. */
export function initLora(lm: LanguageModel, options: LoraOptions, seed = 0): Record<string, Float32Array> {
  const random = mulberry32(seed);
  const out: Record<string, Float32Array> = {};
  for (const [name, dims] of Object.entries(loraParamDims(lm, options))) {
    const values = new Float32Array(dims[0] * dims[1]);
    if (name.endsWith('.A')) {
      const bound = 1 / Math.sqrt(dims[1]);
      for (let i = 0; i < values.length; i++) values[i] = (random() * 2 - 1) * bound;
    }
    out[name] = values;
  }
  return out;
}
