// The run's LoRA adapters as a PEFT adapter folder (`adapter_config.json` +
// `adapter_model.safetensors`, the layout PeftModel.from_pretrained loads), under the names PEFT
// gives LlavaForConditionalGeneration (`base_model.model.model.language_model.layers.N...`).
// `target_modules` is a regex limited to the language model: a plain ["q_proj", "v_proj"] list
// would also match the CLIP tower's attention projections. The adapter belongs on a LLaVA model
// whose LM weights are the original ones, i.e. an export written with mergeLora: false (then
// `base_model_name_or_path` names that folder; after a merge it is null: the base is not on disk).
import { join } from 'node:path';
import { type HostTensor, writeSafetensors } from '@mmit/tensor';
import { exportName } from '@mmit/train';
import type { ExportRun } from './run-source.js';
import { writeJson } from './side-files.js';

export const ADAPTER_FILES = { config: 'adapter_config.json', weights: 'adapter_model.safetensors' } as const;

export function peftAdapterConfig(run: ExportRun, baseModel: string | null): Record<string, unknown> {
  const lora = run.lora!;
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
    target_modules: `.*language_model\\.layers\\.\\d+\\.(?:self_attn|mlp)\\.(?:${lora.targets.join('|')})`,
    modules_to_save: null,
  };
}

/** Writes the adapter folder (adapters are small: one file, written at once); returns the file names. */
export function writePeftAdapter(run: ExportRun, dir: string, baseModel: string | null): string[] {
  const tensors: Record<string, HostTensor> = {};
  for (const [ours, tensor] of Object.entries(run.lora!.weights)) tensors[exportName(ours)] = tensor;
  writeSafetensors(join(dir, ADAPTER_FILES.weights), tensors, { format: 'pt' });
  writeJson(join(dir, ADAPTER_FILES.config), peftAdapterConfig(run, baseModel));
  return [ADAPTER_FILES.config, ADAPTER_FILES.weights];
}
