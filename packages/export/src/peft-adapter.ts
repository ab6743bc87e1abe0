// The run's LoRA adapters as a PEFT adapter folder (`adapter_config.json` +
// `adapter_model.safetensors`, the layout PeftModel.from_pretrained loads), under the names PEFT
// gives LlavaForConditionalGeneration (`base_model.model.model.language_model.layers.N...`).
// `target_modules` is a regex limited to the language model: a plain ["q_proj", "v_proj"] list
// would also match the CLIP tower's attention projections. The adapter belongs on a LLaVA model
// whose LM weights are the original ones, i.e. an export written with mergeLora: false (then
// `base_model_name_or_path` names that folder; after a merge it is null: the base is not on disk).
// Families that fuse projections (Phi-3's qkv_proj, gate_up_proj) have no q_proj module for an
// adapter to sit on, so the adapters of a fused module's parts become one adapter on it: A stacks
// the parts' A rows (rank k*r for k adapted parts) and B places each part's B in its own rows and
// rank columns (zero elsewhere), so B A = the parts' B_j A_j stacked, exactly. PEFT's
// rank_pattern/alpha_pattern give that module rank k*r and alpha k*alpha, keeping alpha/r.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LanguageModel, loraTargetNames } from '@mmit/models';
import { type HostTensor, writeSafetensors } from '@mmit/tensor';
import { exportName } from '@mmit/train';
import type { ExportRun } from './run-source.js';
import { writeJson } from './side-files.js';

export const ADAPTER_FILES = { config: 'adapter_config.json', weights: 'adapter_model.safetensors' } as const;

/** A fused module of the LM whose parts carry adapters: its PEFT module path and its parts. */
interface FusedAdapter {
  /** `layers.3.self_attn.qkv_proj` (the module path under the language model). */
  module: string;
  /** Our linear names in row order (`layers.3.attn.q`), with their rows. */
  parts: { linear: string; rows: number }[];
}

/** The fused modules of `lm` (one per layer and fused weight) that hold an adapted part. */
export function fusedAdapters(run: ExportRun, lm: LanguageModel): FusedAdapter[] {
  const adapted = new Set(
    Object.keys(run.lora?.weights ?? {})
      .filter((n) => n.endsWith('.A'))
      .map((n) => n.slice('lora.'.length, -'.A'.length)),
  );
  const out: FusedAdapter[] = [];
  for (const fused of lm.architecture.weights.fused) {
    const rows = fused.rows(lm.config);
    for (let i = 0; i < lm.config.numLayers; i++) {
      const parts = fused.ours.map((o, j) => ({
        linear: o.replace('{i}', String(i)).replace(/\.weight$/, ''),
        rows: rows[j],
      }));
      if (parts.some((p) => adapted.has(p.linear))) {
        out.push({ module: fused.hf.replace('{i}', String(i)).replace(/\.weight$/, ''), parts });
      }
    }
  }
  return out;
}

const PEFT_LM_PREFIX = 'base_model.model.model.language_model.';

/** One adapter on a fused module from its parts' adapters (see the file comment). */
function fuseAdapter(
  fused: FusedAdapter,
  weights: Record<string, HostTensor<'float32'>>,
  rank: number,
): { a: HostTensor<'float32'>; b: HostTensor<'float32'>; parts: number } {
  const adapted = fused.parts.filter((p) => weights[`lora.${p.linear}.A`]);
  const inputs = weights[`lora.${adapted[0].linear}.A`].dims[1];
  const outRows = fused.parts.reduce((n, p) => n + p.rows, 0);
  const fusedRank = adapted.length * rank;
  const a = new Float32Array(fusedRank * inputs);
  const b = new Float32Array(outRows * fusedRank);
  let rowOffset = 0;
  let k = 0;
  for (const part of fused.parts) {
    const partA = weights[`lora.${part.linear}.A`];
    const partB = weights[`lora.${part.linear}.B`];
    if (partA && partB) {
      a.set(partA.data, k * rank * inputs);
      for (let r = 0; r < part.rows; r++) {
        for (let c = 0; c < rank; c++)
          b[(rowOffset + r) * fusedRank + k * rank + c] = partB.data[r * rank + c];
      }
      k++;
    }
    rowOffset += part.rows;
  }
  return {
    a: { dtype: 'float32', dims: [fusedRank, inputs], data: a },
    b: { dtype: 'float32', dims: [outRows, fusedRank], data: b },
    parts: adapted.length,
  };
}

export function peftAdapterConfig(
  run: ExportRun,
  baseModel: string | null,
  fused: FusedAdapter[] = [],
): Record<string, unknown> {
  const lora = run.lora!;
  // Targets inside a fused module (`attn.q` of qkv_proj) are that module's adapter, not their own.
  const fusedLinears = new Set(
    fused.flatMap((f) => f.parts.map((p) => p.linear.replace(/^layers\.\d+\./, ''))),
  );
  const modules = new Set<string>(lora.targets.filter((t) => !fusedLinears.has(loraTargetNames[t])));
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  for (const f of fused) {
    const name = f.module.split('.').pop()!;
    modules.add(name);
    const parts = f.parts.filter((p) => lora.weights[`lora.${p.linear}.A`]).length;
    rankPattern[name] = parts * lora.rank;
    alphaPattern[name] = parts * lora.alpha;
  }
  return {
    peft_type: 'LORA',
    task_type: null,
    base_model_name_or_path: baseModel,
    r: lora.rank,
    lora_alpha: lora.alpha,
    lora_dropout: 0,
    bias: 'none',
    fan_in_fan_out: false,
    use_rslora: false,
    inference_mode: true,
    init_lora_weights: true,
    target_modules: `.*language_model\\.layers\\.\\d+\\.(?:self_attn|mlp)\\.(?:${[...modules].join('|')})`,
    rank_pattern: rankPattern,
    alpha_pattern: alphaPattern,
    modules_to_save: null,
  };
}

/** Writes the adapter folder (adapters are small: one file, written at once); returns the file names. */
export function writePeftAdapter(
  run: ExportRun,
  lm: LanguageModel,
  dir: string,
  baseModel: string | null,
): string[] {
  const weights = run.lora!.weights;
  const fused = fusedAdapters(run, lm);
  const inFused = new Set(fused.flatMap((f) => f.parts.map((p) => p.linear)));
  const tensors: Record<string, HostTensor> = {};
  for (const [ours, tensor] of Object.entries(weights)) {
    const linear = ours.slice('lora.'.length, ours.lastIndexOf('.'));
    if (!inFused.has(linear)) tensors[exportName(ours)] = tensor;
  }
  for (const f of fused) {
    const { a, b } = fuseAdapter(f, weights, run.lora!.rank);
    tensors[`${PEFT_LM_PREFIX}${f.module}.lora_A.weight`] = a;
    tensors[`${PEFT_LM_PREFIX}${f.module}.lora_B.weight`] = b;
  }
  writeSafetensors(join(dir, ADAPTER_FILES.weights), tensors, { format: 'pt' });
  writeJson(join(dir, ADAPTER_FILES.config), peftAdapterConfig(run, baseModel, fused));
  return [ADAPTER_FILES.config, ADAPTER_FILES.weights];
}

/**
 * Points an adapter folder written elsewhere (with a null base) at its base model's final place:
 * rewrites `base_model_name_or_path` the way writePeftAdapter writes the file, so the folder is
 * byte for byte what a direct export into that place gives.
 */
export function setAdapterBase(adapterDir: string, baseModel: string | null): void {
  const path = join(adapterDir, ADAPTER_FILES.config);
  const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeJson(path, { ...config, base_model_name_or_path: baseModel });
}
