// `config.json` of a Hugging Face LlavaForConditionalGeneration (transformers' LlavaConfig):
// the LM's own config as `text_config`, the tower's as `vision_config`, and the LLaVA keys
// (image token, feature layer and selection, projector activation, image_seq_length). Both the
// HF folder and the transformers.js folder use it; transformers.js reads `text_config` for the
// KV-cache layout and `image_token_index` to splice image features in.
// A `linear` projector has no LLaVA class of its own: it is written as linear_1, the identity
// activation (`projector_hidden_act: "linear"`, transformers' ACT2FN name for it) and an identity
// linear_2, which computes exactly the trained projector.
import { readConfigSection } from '@mmit/models';
import type { HostTensor } from '@mmit/tensor';
import type { ExportParts } from './parts.js';
import type { ExportRun } from './run-source.js';

const DROPPED_KEYS = ['architectures', '_name_or_path', 'transformers_version', 'auto_map'];

function withoutSaveKeys(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([k]) => !DROPPED_KEYS.includes(k)));
}

/** The LM's config as LLaVA's text_config (a LLaVA checkpoint's own text_config when the LM is one). */
export function textConfigOf(lmConfig: Record<string, unknown>): Record<string, unknown> {
  const nested = lmConfig.model_type === 'llava' ? lmConfig.text_config : undefined;
  return withoutSaveKeys((nested as Record<string, unknown> | undefined) ?? lmConfig);
}

export function visionConfigOf(parts: ExportParts): Record<string, unknown> {
  const raw = withoutSaveKeys(readConfigSection(parts.tower.dir, 'vision_config'));
  return { ...raw, model_type: parts.tower.kind === 'clip' ? 'clip_vision_model' : 'siglip_vision_model' };
}

export function projectorHiddenAct(run: ExportRun): 'gelu' | 'linear' {
  return run.projector.spec.type === 'mlp2x_gelu' ? 'gelu' : 'linear';
}

export function llavaConfig(run: ExportRun, parts: ExportParts): Record<string, unknown> {
  const text = textConfigOf(parts.lm.checkpoint.config);
  return {
    architectures: ['LlavaForConditionalGeneration'],
    model_type: 'llava',
    text_config: text,
    vision_config: visionConfigOf(parts),
    // transformers 4 reads image_token_index, 5 maps image_token_id onto it; transformers.js reads either.
    image_token_index: parts.imageTokenId,
    image_token_id: parts.imageTokenId,
    image_seq_length: parts.imageSeqLength,
    projector_hidden_act: projectorHiddenAct(run),
    multimodal_projector_bias: true,
    vision_feature_layer: run.encoder.spec.visionFeatureLayer,
    vision_feature_select_strategy: parts.selectStrategy,
    tie_word_embeddings: parts.lm.config.tieWordEmbeddings,
    dtype: typeof text.dtype === 'string' ? text.dtype : 'float32',
    mmit_export: {
      run: run.runId,
      step: run.step,
      projector: run.projector.spec.type,
      lora: run.lora ? { rank: run.lora.rank, alpha: run.lora.alpha, merged: parts.loraMerged } : null,
    },
  };
}

/** The projector under our names as LLaVA's two linears (identity linear_2 for a `linear` projector). */
export function llavaProjectorWeights(run: ExportRun): Record<string, HostTensor<'float32'>> {
  const { spec, weights } = run.projector;
  if (spec.type === 'mlp2x_gelu') return weights;
  const d = spec.outputDim;
  const identity = new Float32Array(d * d);
  for (let i = 0; i < d; i++) identity[i * d + i] = 1;
  return {
    'projector.linear_1.weight': weights['projector.linear_1.weight'],
    'projector.linear_1.bias': weights['projector.linear_1.bias'],
    'projector.linear_2.weight': { dtype: 'float32', dims: [d, d], data: identity },
    'projector.linear_2.bias': { dtype: 'float32', dims: [d], data: new Float32Array(d) },
  };
}
