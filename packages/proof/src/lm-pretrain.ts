// Pretraining the tiny LM on the corpus text with the engine itself: every weight is a graph
// parameter (not an initializer), so `grad` emits the weight gradients of the whole decoder
// (MatMul's VJP for both inputs, RMSNorm's composed ops, the embedding Gather) and AdamW updates
// them on the host. Afterwards the weights are written as a checkpoint and stay frozen.
// Shapes: B batch, T tokens, d hidden, V vocab.

import { createRng } from '@mmit/media';
import {
  AdamW,
  type DecoderConstants,
  decoderBody,
  type LmConfig,
  parseLmConfig,
  ropeInverseFrequencies,
  rotateHalfMatrix,
  shiftedLoss,
} from '@mmit/models';
import { createSession, Graph, gather, grad, hostTensor, linear, type Value } from '@mmit/tensor';
import { lrMultiplier } from '@mmit/train';
import { initTinyLm, type TinyLmSizes, type TinyLmTokens, tinyLmConfig, tinyLmWeights } from './tiny-lm.js';

export interface LmTrainGraph {
  graph: Graph;
  config: LmConfig;
  /** Parameter names (ours); their gradients are outputs `grad.<name>`. */
  params: string[];
}

/** ids + mask + positions + labels + every weight -> loss and a gradient per weight. */
export function buildLmTrainGraph(sizes: TinyLmSizes, tokens: TinyLmTokens): LmTrainGraph {
  const config = parseLmConfig(tinyLmConfig(sizes, tokens));
  const g = new Graph('tiny-lm-pretrain');
  const params: Record<string, Value> = {};
  for (const w of tinyLmWeights(sizes)) params[w.ours] = g.param(w.ours, 'float32', w.dims);
  const weight = (name: string) => {
    const value = params[name];
    if (!value) throw new Error(`tiny LM has no weight ${name}; it has ${Object.keys(params).join(', ')}`);
    return value;
  };
  const single = (name: string, x: Value) => linear(x, weight(`${name}.weight`));
  const constants: DecoderConstants = {
    invFreq: g.initializer(
      'rope.inv_freq',
      hostTensor('float32', [config.headDim / 2], ropeInverseFrequencies(config)),
    ),
    rotateHalf: g.initializer(
      'rope.rotate_half',
      hostTensor('float32', [config.headDim, config.headDim], rotateHalfMatrix(config.headDim)),
    ),
  };
  const ids = g.input('input_ids', 'int32', ['batch', 'seq']);
  const attentionMask = g.input('attention_mask', 'int32', ['batch', 'seq']);
  const positionIds = g.input('position_ids', 'int32', ['batch', 'seq']);
  const labels = g.input('labels', 'int32', ['batch', 'seq']);
  const embeds = g.scope('embed', () => gather(weight('embed.weight'), ids, 0)); // (B, T, d)
  const { hidden } = decoderBody(
    config,
    { embeds, attentionMask, positionIds },
    weight,
    { single, group: (names, x) => names.map((n) => single(n, x)) },
    constants,
  );
  const logits = g.scope('head', () => linear(hidden, weight('embed.weight'))); // (B, T, V), tied
  const loss = g.scope('loss', () => shiftedLoss(logits, labels));
  g.output('loss', loss);
  const names = Object.keys(params);
  const grads = grad(
    g,
    loss,
    names.map((n) => params[n]),
  );
  names.forEach((n, i) => {
    g.output(`grad.${n}`, grads[i]);
  });
  return { graph: g, config, params: names };
}

/** One training sequence: ids and the labels to predict (-100 where nothing is learned). */
export interface LmSequence {
  ids: number[];
  labels: number[];
}

export interface PretrainOptions {
  sizes: TinyLmSizes;
  tokens: TinyLmTokens;
  sequences: LmSequence[];
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Called after each step with its loss (progress output). */
  onStep?: (step: number, loss: number) => void;
}

export interface PretrainResult {
  weights: Record<string, Float32Array>;
  /** Loss of every step, in order. */
  losses: number[];
}

/** Right-padded int32 batch: pad id, mask 0 and label -100 after each sequence's end. */
export function padBatch(batch: LmSequence[], padId: number) {
  const length = Math.max(...batch.map((s) => s.ids.length));
  const dims = [batch.length, length];
  const ids = new Int32Array(batch.length * length).fill(padId);
  const mask = new Int32Array(batch.length * length);
  const labels = new Int32Array(batch.length * length).fill(-100);
  const positions = new Int32Array(batch.length * length);
  batch.forEach((s, b) => {
    ids.set(s.ids, b * length);
    labels.set(s.labels, b * length);
    mask.fill(1, b * length, b * length + s.ids.length);
    for (let t = 0; t < length; t++) positions[b * length + t] = t;
  });
  return {
    input_ids: hostTensor('int32', dims, ids),
    attention_mask: hostTensor('int32', dims, mask),
    position_ids: hostTensor('int32', dims, positions),
    labels: hostTensor('int32', dims, labels),
  };
}

/** Full-weight training from a random start: shuffled batches, AdamW with a cosine schedule. */
export async function pretrainTinyLm(options: PretrainOptions): Promise<PretrainResult> {
  const { graph, params } = buildLmTrainGraph(options.sizes, options.tokens);
  const session = await createSession(graph, { ep: 'cpu', cache: false });
  const dims = Object.fromEntries(tinyLmWeights(options.sizes).map((w) => [w.ours, w.dims]));
  const optimizer = new AdamW(initTinyLm(options.sizes, options.seed), {
    lr: options.lr,
    weight_decay: 0.01,
    betas: [0.9, 0.98],
  });
  const rng = createRng(options.seed + 1);
  let order: number[] = [];
  const losses: number[] = [];
  const warmupSteps = Math.round(options.steps * 0.05);
  try {
    for (let step = 1; step <= options.steps; step++) {
      if (order.length < options.batchSize) {
        const more = options.sequences.map((_, i) => i);
        for (let i = more.length - 1; i > 0; i--) {
          const j = Math.floor(rng() * (i + 1));
          [more[i], more[j]] = [more[j], more[i]];
        }
        order = order.concat(more);
      }
      const batch = order.splice(0, options.batchSize).map((i) => options.sequences[i]);
      const current = optimizer.float32();
      const feeds: Record<string, ReturnType<typeof hostTensor>> = padBatch(batch, options.tokens.padTokenId);
      for (const name of params) feeds[name] = { dtype: 'float32', dims: dims[name], data: current[name] };
      const out = await session.run(feeds);
      const loss = (out.loss.data as Float32Array)[0];
      const grads = Object.fromEntries(params.map((n) => [n, out[`grad.${n}`].data as Float32Array]));
      const lr =
        options.lr *
        lrMultiplier({ type: 'cosine', warmupSteps, totalSteps: options.steps, minLrRatio: 0.1 }, step);
      optimizer.step(grads, lr);
      losses.push(loss);
      options.onStep?.(step, loss);
    }
  } finally {
    await session.release();
  }
  return { weights: optimizer.float32(), losses };
}
