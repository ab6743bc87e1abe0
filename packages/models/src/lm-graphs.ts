// The inference graphs of a decoder LM, all with frozen weights as initializers:
// - forward: input_ids or inputs_embeds -> logits (+ the HF causal-LM loss when labels are given);
// - cached: inputs_embeds (+ past key/values) -> logits + present key/values, which serves both as
//   the prefill graph (no past) and the decode-step graph (with past; normally one new token);
// - embed: input_ids -> inputs_embeds (the embed_tokens path the cached graphs start from).
// Graph inputs are int32 for ids/masks/positions (WebGPU runs int64 on the CPU); feeds.ts builds them.
// Shapes: B batch, T new tokens, P past tokens, d hidden, V vocab, K KV heads, hd head dim.
import { crossEntropy, Graph, slice, type Value } from '@mmit/tensor';
import type { KeyValue } from './decoder.js';
import type { FrozenLm, LanguageModel } from './language-model.js';

export interface ForwardGraphOptions {
  /** Start from token ids (embedding inside the graph) or from inputs_embeds. */
  input: 'ids' | 'embeds';
  /** Add a `labels` input and a `loss` output. */
  loss?: boolean;
}

export const dims = { batch: 'batch', seq: 'seq', past: 'past', total: 'past+seq' } as const;

/** HF causal-LM loss: logits[:, :-1] against labels[:, 1:], mean over labels != -100 in the batch. */
export function shiftedLoss(logits: Value, labels: Value): Value {
  return crossEntropy(slice(logits, 1, 0, -1), slice(labels, 1, 1));
}

function embedInput(g: Graph, lm: LanguageModel, frozen: FrozenLm, input: 'ids' | 'embeds'): Value {
  if (input === 'embeds')
    return g.input('inputs_embeds', 'float32', [dims.batch, dims.seq, lm.config.hiddenSize]);
  const ids = g.input('input_ids', 'int32', [dims.batch, dims.seq]);
  return g.scope('embed', () => frozen.embed(ids)); // (B, T, d)
}

/** Full forward without cache: logits (B, T, V) and optionally the loss. */
export function buildForwardGraph(lm: LanguageModel, options: ForwardGraphOptions): Graph {
  const g = new Graph(`${lm.config.modelType}-forward`);
  const frozen = lm.frozen(g);
  const embeds = embedInput(g, lm, frozen, options.input);
  const attentionMask = g.input('attention_mask', 'int32', [dims.batch, dims.seq]);
  const positionIds = g.input('position_ids', 'int32', [dims.batch, dims.seq]);
  const { hidden } = lm.body(
    lm.config,
    { embeds, attentionMask, positionIds },
    frozen.weight,
    frozen.linears,
    frozen.constants,
  );
  const logits = g.scope('head', () => frozen.head(hidden));
  g.output('logits', logits);
  if (options.loss) {
    const labels = g.input('labels', 'int32', [dims.batch, dims.seq]);
    g.output(
      'loss',
      g.scope('loss', () => shiftedLoss(logits, labels)),
    );
  }
  return g;
}

export interface CachedGraphOptions {
  /** false: the prefill graph (no past inputs); true: the decode-step graph. */
  withPast: boolean;
}

export const pastName = (layer: number, which: 'key' | 'value') => `past_key_values.${layer}.${which}`;
export const presentName = (layer: number, which: 'key' | 'value') => `present.${layer}.${which}`;

/** inputs_embeds (+ past) -> logits (B, T, V) and present.{i}.key/value (B, K, P+T, hd). */
export function buildCachedGraph(lm: LanguageModel, options: CachedGraphOptions): Graph {
  const c = lm.config;
  const g = new Graph(`${c.modelType}-${options.withPast ? 'decode' : 'prefill'}`);
  const frozen = lm.frozen(g);
  const embeds = g.input('inputs_embeds', 'float32', [dims.batch, dims.seq, c.hiddenSize]);
  let past: KeyValue[] | undefined;
  if (options.withPast) {
    past = [];
    for (let i = 0; i < c.numLayers; i++) {
      const shape = [dims.batch, c.numKvHeads, dims.past, c.headDim];
      past.push({
        key: g.input(pastName(i, 'key'), 'float32', shape),
        value: g.input(pastName(i, 'value'), 'float32', shape),
      });
    }
  }
  const keys = options.withPast ? dims.total : dims.seq;
  const attentionMask = g.input('attention_mask', 'int32', [dims.batch, keys]);
  const positionIds = g.input('position_ids', 'int32', [dims.batch, dims.seq]);
  const { hidden, present } = lm.body(
    c,
    { embeds, attentionMask, positionIds, past },
    frozen.weight,
    frozen.linears,
    frozen.constants,
  );
  g.output(
    'logits',
    g.scope('head', () => frozen.head(hidden)),
  );
  present.forEach((kv, i) => {
    g.output(presentName(i, 'key'), kv.key);
    g.output(presentName(i, 'value'), kv.value);
  });
  return g;
}

/** input_ids (B, T) -> inputs_embeds (B, T, d). */
export function buildEmbedGraph(lm: LanguageModel): Graph {
  const g = new Graph(`${lm.config.modelType}-embed`);
  const frozen = lm.frozen(g);
  const ids = g.input('input_ids', 'int32', [dims.batch, dims.seq]);
  g.output('inputs_embeds', frozen.embed(ids));
  return g;
}
