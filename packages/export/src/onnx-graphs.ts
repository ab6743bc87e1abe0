// The three ONNX graphs transformers.js runs for a LLaVA-style model (its ImageTextToText
// sessions in models/session_config.js), built with our graph builder from the same model
// pieces as our own engine (`lm.frozen` (its `embed` and `head`), `lm.body`, `buildVisionGraph`,
// `applyProjector`):
//   embed_tokens:          input_ids -> inputs_embeds
//   vision_encoder:        pixel_values -> image_features (selected tower states, projected: the rows
//                          that replace the `<image>` tokens)
//   decoder_model_merged:  inputs_embeds, attention_mask, position_ids, past_key_values.N.key/value
//                          -> logits, present.N.key/value
// transformers.js feeds ids, masks and positions as int64 (our graphs cast them to int32 inside).
// "Merged" needs no `use_cache_branch` input: transformers.js sends one only when the session
// declares it, and on the first step it feeds empty past tensors shaped from the session's input
// metadata, resolving the dim named `batch_size` to the batch and any other symbol to 0. A past
// of length 0 makes the concat of past and new keys the prefill, so one graph serves both steps;
// hence the dim names below.
import {
  applyProjector,
  buildVisionGraph,
  dropsFirstToken,
  type FeatureRequest,
  type LanguageModel,
  type ProjectorSpec,
  pastName,
  presentName,
  type VisionTower,
  visionOutputs,
} from '@mmit/models';
import { cast, concat, Graph, type HostTensor, slice, type Value } from '@mmit/tensor';
import { ExportError } from './errors.js';
import { llavaProjectorName } from './llava-names.js';

/** Symbolic dims as transformers.js resolves them (`batch_size` -> the batch, others -> 0 for an empty cache). */
export const TJS_DIMS = {
  batch: 'batch_size',
  seq: 'sequence_length',
  past: 'past_sequence_length',
  total: 'past_sequence_length+sequence_length',
} as const;

export const TJS_NAMES = {
  inputIds: 'input_ids',
  inputsEmbeds: 'inputs_embeds',
  pixelValues: 'pixel_values',
  imageFeatures: 'image_features',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  logits: 'logits',
} as const;

/** input_ids (B, T) int64 -> inputs_embeds (B, T, d). */
export function buildEmbedTokensGraph(lm: LanguageModel): Graph {
  const g = new Graph('embed_tokens');
  const frozen = lm.frozen(g);
  const ids = g.input(TJS_NAMES.inputIds, 'int64', [TJS_DIMS.batch, TJS_DIMS.seq]);
  g.output(TJS_NAMES.inputsEmbeds, frozen.embed(cast(ids, 'int32')));
  return g;
}

/** Removes the graph output called `name` (the tower builders declare theirs) and returns its value. */
function takeOutput(g: Graph, name: string): Value {
  const index = g.outputs.findIndex((o) => o.name === name);
  if (index < 0) throw new ExportError('validation', `graph ${g.name} has no output ${name}`);
  return g.outputs.splice(index, 1)[0];
}

/** pixel_values (B, C, S, S) -> image_features (B, N, d): the tower's selected states through the projector. */
export function buildVisionEncoderGraph(
  tower: VisionTower,
  feature: FeatureRequest,
  projector: { spec: ProjectorSpec; weights: Record<string, HostTensor<'float32'>> },
): Graph {
  const layers = [...new Set([feature.layer].flat())];
  if (layers.length !== [feature.layer].flat().length) {
    throw new ExportError(
      'validation',
      `vision_feature_layer ${JSON.stringify(feature.layer)} repeats a layer`,
    );
  }
  const g = buildVisionGraph(tower, { hiddenStates: layers });
  const drop = dropsFirstToken(feature.select);
  // HF's get_image_features: each chosen hidden state, CLS dropped for 'default', concatenated on features.
  const states = layers.map((layer) => {
    const state = takeOutput(g, visionOutputs.hiddenState(layer)); // (B, 1 + N or N, D)
    return drop ? slice(state, 1, 1) : state;
  });
  const selected = states.length === 1 ? states[0] : concat(states, -1); // (B, N, D * layers)
  const params: Record<string, Value> = Object.fromEntries(
    Object.entries(projector.weights).map(([ours, tensor]) => [
      ours,
      g.initializer(llavaProjectorName(ours), tensor),
    ]),
  );
  g.output(TJS_NAMES.imageFeatures, applyProjector(projector.spec, params, selected));
  return g;
}

/** The KV-cached decoder: one graph for the first step (empty past) and every step after. */
export function buildMergedDecoderGraph(lm: LanguageModel): Graph {
  const c = lm.config;
  const g = new Graph('decoder_model_merged');
  const frozen = lm.frozen(g);
  const embeds = g.input(TJS_NAMES.inputsEmbeds, 'float32', [TJS_DIMS.batch, TJS_DIMS.seq, c.hiddenSize]);
  const attentionMask = g.input(TJS_NAMES.attentionMask, 'int64', [TJS_DIMS.batch, TJS_DIMS.total]);
  const positionIds = g.input(TJS_NAMES.positionIds, 'int64', [TJS_DIMS.batch, TJS_DIMS.seq]);
  const pastShape = [TJS_DIMS.batch, c.numKvHeads, TJS_DIMS.past, c.headDim];
  const past = Array.from({ length: c.numLayers }, (_, i) => ({
    key: g.input(pastName(i, 'key'), 'float32', pastShape),
    value: g.input(pastName(i, 'value'), 'float32', pastShape),
  }));
  const { hidden, present } = lm.body(
    c,
    { embeds, attentionMask: cast(attentionMask, 'int32'), positionIds: cast(positionIds, 'int32'), past },
    frozen.weight,
    frozen.linears,
    frozen.constants,
  );
  g.output(
    TJS_NAMES.logits,
    g.scope('head', () => frozen.head(hidden)),
  );
  present.forEach((kv, i) => {
    g.output(presentName(i, 'key'), kv.key);
    g.output(presentName(i, 'value'), kv.value);
  });
  return g;
}
