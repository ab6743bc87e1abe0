// Trained LoRA adapters folded into the frozen LM's weights, as PEFT's merge_and_unload does:
// W' = W + (alpha / r) * B @ A, with W (out, in), A (r, in), B (out, r). The merge is a view over a
// checkpoint, so serving's graphs and the exporters read merged weights through the same
// `Checkpoint` interface as any other, and nothing is computed until a weight is asked for. Sums
// are accumulated in float64 and rounded to float32 once, so the merged weight is the exact sum
// rounded, whatever the rank.
import type { HostTensor } from '@mmit/tensor';
import type { Checkpoint } from './checkpoint.js';

export interface LoraAdapters {
  rank: number;
  alpha: number;
  /** Adapter matrices under our names: `lora.layers.3.attn.q.A` (r, in) and `.B` (out, r). */
  weights: Record<string, HostTensor<'float32'>>;
}

export class LoraMergeError extends Error {
  override name = 'LoraMergeError';
}

/** W + scale * B @ A, as a new float32 tensor; `name` labels a shape error. */
export function mergeLoraWeight(
  weight: HostTensor<'float32'>,
  a: HostTensor<'float32'>,
  b: HostTensor<'float32'>,
  scale: number,
  name = 'weight',
): HostTensor<'float32'> {
  const [out, inp] = weight.dims;
  const [rank, aIn] = a.dims;
  const [bOut, bRank] = b.dims;
  if (aIn !== inp || bOut !== out || bRank !== rank) {
    throw new LoraMergeError(
      `${name}: LoRA shapes A [${a.dims}] and B [${b.dims}] do not fit the weight [${weight.dims}] (want A [r, ${inp}], B [${out}, r])`,
    );
  }
  const merged = new Float32Array(out * inp);
  const row = new Float64Array(inp);
  for (let o = 0; o < out; o++) {
    row.fill(0);
    for (let r = 0; r < rank; r++) {
      const coefficient = b.data[o * rank + r] * scale;
      if (coefficient === 0) continue;
      const aRow = r * inp;
      for (let i = 0; i < inp; i++) row[i] += coefficient * a.data[aRow + i];
    }
    const wRow = o * inp;
    for (let i = 0; i < inp; i++) merged[wRow + i] = weight.data[wRow + i] + row[i];
  }
  return { dtype: 'float32', dims: [out, inp], data: merged };
}

/** Our weight names the adapters change (`layers.0.attn.q.weight`, ...). */
export function loraMergedWeightNames(lora: LoraAdapters): string[] {
  return Object.keys(lora.weights)
    .filter((n) => n.endsWith('.A'))
    .map((n) => `${n.slice('lora.'.length, -'.A'.length)}.weight`);
}

/** The checkpoint with every adapted linear weight replaced by its merged value. */
export function withMergedLora(base: Checkpoint, lora: LoraAdapters): Checkpoint {
  const scale = lora.alpha / lora.rank;
  const merged = new Set(loraMergedWeightNames(lora));
  return {
    dir: base.dir,
    config: base.config,
    has: (ours) => base.has(ours),
    dims: (ours) => base.dims(ours),
    oursOf: (hfName) => base.oursOf(hfName),
    close: () => base.close(),
    weight(ours) {
      const weight = base.weight(ours);
      if (!merged.has(ours)) return weight;
      const prefix = `lora.${ours.slice(0, -'.weight'.length)}`;
      const a = lora.weights[`${prefix}.A`];
      const b = lora.weights[`${prefix}.B`];
      if (!a || !b) throw new LoraMergeError(`LoRA adapter ${prefix} lacks its ${a ? 'B' : 'A'} matrix`);
      return mergeLoraWeight(weight, a, b, scale, ours);
    },
  };
}
