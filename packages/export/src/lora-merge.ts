// Folding trained LoRA adapters into the frozen LM's weights, as PEFT's merge_and_unload does:
// W' = W + (alpha / r) * B @ A, with W (out, in), A (r, in), B (out, r). The merge is a view over a
// checkpoint (`withMergedLora`), so the HF writer and the ONNX graph builders read merged weights
// through the same `Checkpoint` interface the rest of the engine uses, and nothing is copied
// until a weight is asked for. Sums are accumulated in float64 and stored as float32.
import type { Checkpoint } from '@mmit/models';
import type { HostTensor } from '@mmit/tensor';
import { ExportError } from './errors.js';
import type { ExportLora } from './run-source.js';

/** `layers.3.attn.q.weight` -> the adapter prefix `lora.layers.3.attn.q`, or null for other weights. */
function adapterOf(weightName: string): string | null {
  const match = /^(layers\.\d+\.(?:attn|mlp)\.\w+)\.weight$/.exec(weightName);
  return match ? `lora.${match[1]}` : null;
}

/** W + scale * B @ A. */
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
    throw new ExportError(
      'validation',
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
export function mergedWeightNames(lora: ExportLora): string[] {
  return Object.keys(lora.weights)
    .filter((n) => n.endsWith('.A'))
    .map((n) => `${n.slice('lora.'.length, -'.A'.length)}.weight`);
}

/** The checkpoint with every adapted linear weight replaced by its merged value. */
export function withMergedLora(base: Checkpoint, lora: ExportLora): Checkpoint {
  const scale = lora.alpha / lora.rank;
  const merged = new Set(mergedWeightNames(lora));
  return {
    dir: base.dir,
    config: base.config,
    has: (ours) => base.has(ours),
    dims: (ours) => base.dims(ours),
    close: () => base.close(),
    weight(ours) {
      const weight = base.weight(ours);
      if (!merged.has(ours)) return weight;
      const prefix = adapterOf(ours)!;
      const a = lora.weights[`${prefix}.A`];
      const b = lora.weights[`${prefix}.B`];
      if (!a || !b)
        throw new ExportError('validation', `LoRA adapter ${prefix} lacks its ${a ? 'B' : 'A'} matrix`);
      return mergeLoraWeight(weight, a, b, scale, ours);
    },
  };
}
