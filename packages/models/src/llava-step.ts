// The LLaVA projector training step as ONE graph: features + ids + mask + labels + trainable
// parameters -> loss + their gradients. The LM is frozen: its weights are initializers and only
// the projector (and, optionally, LoRA adapters on the LM's linears) are parameters, so autodiff
// emits no weight-gradient work for the LM, only the activation gradients that reach the projector.
//
// Semantics (LLaVA / transformers' LlavaForConditionalGeneration): each `<image>` id in input_ids
// is replaced, in row-major order over the batch, by the next projected feature row; the loss is
// HF's shifted causal-LM loss, mean over labels != -100 in the whole batch.
//
// Head modes, both exact: 'all' computes logits for every position (and outputs them);
// 'labelled' computes the LM head only on the rows that have a target (`loss_rows`,
// `loss_targets` from feeds.labelledRows), which is the same loss and the same gradients because
// the other rows contribute nothing, for a fraction of the head's cost (vocab x d per row).
// Shapes: B batch, N feature rows per sample, dv feature width, T tokens, d hidden, V vocab, M labelled rows.
import {
  cast,
  crossEntropy,
  cumsum,
  equal,
  flatten,
  Graph,
  gather,
  grad,
  type HostTensor,
  mul,
  reshape,
  slice,
  sub,
  unsqueeze,
  type Value,
  where,
} from '@mmit/tensor';
import { arangePositions, asInt32, checkImageTokens, labelledRows } from './feeds.js';
import type { FrozenLm, LanguageModel } from './language-model.js';
import { dims, shiftedLoss } from './lm-graphs.js';
import { type LoraOptions, withLora } from './lora.js';
import { type ProjectorSpec, projectedRows, projectorParams } from './projector.js';

export interface LlavaStepOptions {
  projector: ProjectorSpec;
  imageTokenId: number;
  lora?: LoraOptions;
  head: 'all' | 'labelled';
  /**
   * Build the loss's log-softmax from ReduceMax/Exp/ReduceSum/Log instead of the fused LogSoftmax,
   * which the WebGPU provider lacks (it would run on the CPU, with the (M, V) logits copied there
   * and back). Same loss and gradients; built in a float32 region, so the float16 pass keeps the
   * log-sum-exp over the vocabulary in float32. Default false (the fused op, faster on cpu).
   */
  composedLogSoftmax?: boolean;
  /**
   * Static loss scale for float16 compute: the backward pass starts from loss x lossScale and the
   * gradient outputs are divided by it again in float32. Without it the logits' gradients of a
   * mean over M rows and V classes (about 1 / (M V), ~2e-8 at the LLaVA stage-1 shape) underflow
   * float16. Exact in float32 for powers of two; default 1 (no scaling, no extra nodes).
   */
  lossScale?: number;
}

export interface LlavaStepGraph {
  graph: Graph;
  /** Trainable parameter names, in graph order; their gradients are outputs `grad.<name>`. */
  params: string[];
  options: LlavaStepOptions;
}

/** Token embeddings with each `<image>` position taking the next projected row: (B, T, d). */
function mergeImageRows(frozen: FrozenLm, inputIds: Value, rows: Value, imageTokenId: number): Value {
  const isImage = equal(inputIds, imageTokenId); // (B, T)
  // k-th image token (row-major over the batch) reads projected row k.
  const order = sub(cumsum(flatten(cast(isImage, 'int32'), 0, 2), 0), 1); // (B*T)
  const index = where(isImage, reshape(order, [-1, inputIds.shape[1]]), 0); // (B, T); 0 where unused
  const imageEmbeds = gather(rows, index, 0); // (B, T, d)
  const tokenEmbeds = frozen.embed(inputIds); // (B, T, d), with the family's embedding scale
  return where(unsqueeze(isImage, [2]), imageEmbeds, tokenEmbeds);
}

export function buildLlavaStepGraph(lm: LanguageModel, options: LlavaStepOptions): LlavaStepGraph {
  const c = lm.config;
  if (options.projector.outputDim !== c.hiddenSize) {
    throw new Error(
      `projector output ${options.projector.outputDim} must equal the LM hidden size ${c.hiddenSize}`,
    );
  }
  const g = new Graph(`llava-step-${c.modelType}`);
  const frozen = lm.frozen(g);
  const features = g.input('features', 'float32', [dims.batch, 'image_tokens', options.projector.inputDim]);
  const inputIds = g.input('input_ids', 'int32', [dims.batch, dims.seq]);
  const attentionMask = g.input('attention_mask', 'int32', [dims.batch, dims.seq]);
  const positionIds = g.input('position_ids', 'int32', [dims.batch, dims.seq]);
  const projector = projectorParams(g, options.projector);
  const lora = options.lora ? withLora(g, lm, options.lora, frozen.linears) : null;
  const params: Record<string, Value> = { ...projector, ...(lora?.params ?? {}) };

  const rows = projectedRows(options.projector, projector, features); // (B*N, d)
  const embeds = g.scope('merge', () => mergeImageRows(frozen, inputIds, rows, options.imageTokenId));
  const { hidden } = lm.body(
    c,
    { embeds, attentionMask, positionIds },
    frozen.weight,
    lora?.linears ?? frozen.linears,
    frozen.constants,
  );
  let loss: Value;
  if (options.head === 'all') {
    const labels = g.input('labels', 'int32', [dims.batch, dims.seq]);
    const logits = g.scope('head', () => frozen.head(hidden));
    g.output('logits', logits);
    loss = g.scope('loss', () =>
      options.composedLogSoftmax
        ? g.float32(() => crossEntropy(slice(logits, 1, 0, -1), slice(labels, 1, 1), { composed: true }))
        : shiftedLoss(logits, labels),
    );
  } else {
    const lossRows = g.input('loss_rows', 'int32', ['labelled']);
    const lossTargets = g.input('loss_targets', 'int32', ['labelled']);
    const shifted = flatten(slice(hidden, 1, 0, -1), 0, 2); // (B*(T-1), d)
    const logits = g.scope('head', () => frozen.head(gather(shifted, lossRows, 0))); // (M, V)
    loss = g.scope('loss', () =>
      options.composedLogSoftmax
        ? g.float32(() => crossEntropy(logits, lossTargets, { composed: true }))
        : crossEntropy(logits, lossTargets),
    );
  }
  g.output('loss', loss);
  const names = Object.keys(params);
  const scale = options.lossScale ?? 1;
  const seed = scale === 1 ? loss : g.float32(() => mul(loss, scale));
  const grads = grad(
    g,
    seed,
    names.map((n) => params[n]),
  );
  names.forEach((name, i) => {
    g.output(`grad.${name}`, scale === 1 ? grads[i] : g.float32(() => mul(grads[i], 1 / scale)));
  });
  return { graph: g, params: names, options };
}

export interface LlavaBatch {
  features: HostTensor; // (B, N, dv) float32
  inputIds: HostTensor; // (B, T) int32/int64
  attentionMask: HostTensor; // (B, T)
  labels: HostTensor; // (B, T), -100 = ignored
}

/** The feeds for one step: batch tensors, positions, head rows, and the current parameter values. */
export function llavaStepFeeds(
  step: LlavaStepGraph,
  batch: LlavaBatch,
  params: Record<string, Float32Array>,
): Record<string, HostTensor> {
  const [b, n] = batch.features.dims;
  checkImageTokens(batch.inputIds, step.options.imageTokenId, b * n);
  const [batchSize, length] = batch.inputIds.dims;
  const feeds: Record<string, HostTensor> = {
    features: batch.features,
    input_ids: asInt32(batch.inputIds),
    attention_mask: asInt32(batch.attentionMask),
    position_ids: arangePositions(batchSize, length),
  };
  if (step.options.head === 'all') feeds.labels = asInt32(batch.labels);
  else {
    const { rows, targets } = labelledRows(batch.labels);
    feeds.loss_rows = rows;
    feeds.loss_targets = targets;
  }
  const paramValues = step.graph.params;
  for (const p of paramValues) {
    const values = params[p.name];
    if (!values) throw new Error(`no value for parameter ${p.name}; expected: ${step.params.join(', ')}`);
    feeds[p.name] = { dtype: 'float32', dims: p.shape as number[], data: values };
  }
  return feeds;
}
