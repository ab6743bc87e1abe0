// Weight names of transformers 5's LlavaForConditionalGeneration (modeling_llava.py): the body
// under `model.` with `vision_tower` (a CLIPVisionModel / SiglipVisionModel, hence its own
// `vision_model.`), `multi_modal_projector` and `language_model` (the bare decoder, no `model.`),
// and `lm_head` at the top. transformers 4.x checkpoints (`language_model.model.*`,
// `vision_tower.*`, ...) load into it through the class's `_checkpoint_conversion_mapping`; we
// write the new names, which our own loader (models/weight-names.ts) also reads.
export const LLAVA_PREFIX = {
  languageModel: 'model.language_model.',
  visionTower: 'model.vision_tower.vision_model.',
  projector: 'model.multi_modal_projector.',
} as const;
export const LLAVA_LM_HEAD = 'lm_head.weight';

/** Prefixes a decoder's body can have in the checkpoints we read, longest first. */
const LM_BODY_PREFIX = /^(?:model\.language_model\.|language_model\.model\.|language_model\.|model\.)/;

/**
 * The LLaVA name of an LM checkpoint's tensor (`model.layers.0.mlp.up_proj.weight` ->
 * `model.language_model.layers.0.mlp.up_proj.weight`), given our names it holds (the checkpoint's
 * `oursOf`), or null for a tensor that is not part of the decoder LM (a LLaVA source's own tower
 * and projector, which the export replaces). Fused tensors keep their HF name.
 */
export function llavaLmName(hfName: string, ours: readonly string[] | null): string | null {
  if (ours === null || ours.some((o) => o.startsWith('projector.'))) return null;
  if (ours[0] === 'head.weight') return LLAVA_LM_HEAD;
  return LLAVA_PREFIX.languageModel + hfName.replace(LM_BODY_PREFIX, '');
}

/** A tower tensor's name relative to its prefix -> `model.vision_tower.vision_model.<name>`. */
export function llavaVisionName(relative: string): string {
  return LLAVA_PREFIX.visionTower + relative;
}

/** `projector.linear_1.weight` -> `model.multi_modal_projector.linear_1.weight`. */
export function llavaProjectorName(ours: string): string {
  return LLAVA_PREFIX.projector + ours.slice('projector.'.length);
}
