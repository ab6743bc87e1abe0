// Our parameter names to the names the outside world loads: the projector under llava-hf's
// `multi_modal_projector.*`, LoRA adapters under PEFT's names for LlavaForConditionalGeneration
// (transformers >= 4.52 layout: `model.language_model.layers.N...`).
import { loraTargetNames } from '@mmit/models';

const LLAVA_PROJECTOR_PREFIX = 'multi_modal_projector.';
const PEFT_PREFIX = 'base_model.model.model.language_model.';
const PEFT_MODULE: Record<string, string> = Object.fromEntries(
  Object.entries(loraTargetNames).map(([peft, ours]) => [
    ours,
    `${ours.startsWith('attn.') ? 'self_attn' : 'mlp'}.${peft}`,
  ]),
);

export class WeightNameError extends Error {
  override name = 'WeightNameError';
}

/** `projector.linear_1.weight` -> `multi_modal_projector.linear_1.weight`; `lora.layers.3.attn.q.A` -> PEFT's. */
export function exportName(ours: string): string {
  if (ours.startsWith('projector.')) return LLAVA_PROJECTOR_PREFIX + ours.slice('projector.'.length);
  const lora = /^lora\.layers\.(\d+)\.(attn\.[qkvo]|mlp\.(?:gate|up|down))\.(A|B)$/.exec(ours);
  if (lora) return `${PEFT_PREFIX}layers.${lora[1]}.${PEFT_MODULE[lora[2]]}.lora_${lora[3]}.weight`;
  throw new WeightNameError(`no export name for parameter ${ours} (expected projector.* or lora.layers.N.*)`);
}

/** The inverse of exportName. */
export function oursFromExportName(name: string): string {
  if (name.startsWith(LLAVA_PROJECTOR_PREFIX))
    return `projector.${name.slice(LLAVA_PROJECTOR_PREFIX.length)}`;
  const lora =
    /^base_model\.model\.model\.language_model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.lora_(A|B)\.weight$/.exec(
      name,
    );
  const ours = lora ? (loraTargetNames as Record<string, string>)[lora[3]] : undefined;
  if (lora && ours) return `lora.layers.${lora[1]}.${ours}.${lora[4]}`;
  throw new WeightNameError(`${name} is neither a LLaVA projector weight nor a PEFT LoRA weight`);
}
