// A run's LoRA adapters folded into the frozen LM's weights, as PEFT's merge_and_unload does:
// W' = W + (alpha / r) B A. Serving then builds the ordinary inference graphs over a checkpoint
// view whose targeted weights are the merged ones: no adapter math per token, same numbers as the
// adapter path up to float rounding.
import type { Checkpoint } from '@mmit/models';
import type { HostTensor } from '@mmit/tensor';

export interface LoraWeights {
  rank: number;
  alpha: number;
  /** Our names: `lora.layers.3.attn.q.A` (r, in) and `.B` (out, r). */
  tensors: Record<string, HostTensor<'float32'>>;
}

export class LoraMergeError extends Error {
  override name = 'LoraMergeError';
}

/** W (out, in) += scale * B (out, r) @ A (r, in), into a new array. */
function merged(w: HostTensor<'float32'>, a: HostTensor<'float32'>, b: HostTensor<'float32'>, scale: number) {
  const [out, inp] = w.dims;
  const r = a.dims[0];
  if (b.dims[0] !== out || a.dims[1] !== inp || b.dims[1] !== r) {
    throw new LoraMergeError(
      `LoRA shapes A [${a.dims}] and B [${b.dims}] do not fit a weight of [${w.dims}]`,
    );
  }
  const data = Float32Array.from(w.data);
  for (let o = 0; o < out; o++) {
    for (let k = 0; k < r; k++) {
      const bk = b.data[o * r + k] * scale;
      if (bk === 0) continue;
      const row = k * inp;
      for (let i = 0; i < inp; i++) data[o * inp + i] += bk * a.data[row + i];
    }
  }
  return { dtype: 'float32' as const, dims: [out, inp], data };
}

/** A view of `base` whose adapted linear weights (`layers.N.attn.q.weight`, ...) are merged. */
export function mergeLora(base: Checkpoint, lora: LoraWeights): Checkpoint {
  const scale = lora.alpha / lora.rank;
  const targets = new Map<string, { a: HostTensor<'float32'>; b: HostTensor<'float32'> }>();
  for (const [name, a] of Object.entries(lora.tensors)) {
    const match = /^lora\.(layers\.\d+\.[a-z]+\.[a-z]+)\.A$/.exec(name);
    if (!match) continue;
    const b = lora.tensors[`lora.${match[1]}.B`];
    if (!b) throw new LoraMergeError(`LoRA weight ${name} has no matching .B`);
    targets.set(`${match[1]}.weight`, { a, b });
  }
  return {
    ...base,
    weight(ours) {
      const target = targets.get(ours);
      const w = base.weight(ours);
      return target ? merged(w, target.a, target.b, scale) : w;
    },
  };
}
