// Pretraining the tiny LM on the corpus text with the engine itself: every weight is a graph
// parameter (not an initializer), so `grad` emits the weight gradients of the whole decoder
// (MatMul's VJP for both inputs, RMSNorm's composed ops, the embedding Gather), and the trainer's
// own loop (@mmit/train's Trainer) runs the steps. Afterwards the weights are written as a checkpoint and stay frozen.
// Media positions take slot rows instead of their token's embedding: the sum of up to
// SLOT_WORDS word embeddings (the same tied table) plus noise, so the LM learns to read rows of
// the kind a projector can produce, and not to rely on their exact values.
// Shapes: B batch, T tokens, d hidden, V vocab, K words per slot.

import { createRng } from '@mmit/media';
import {
  AdamW,
  decoderBody,
  decoderConstants,
  type LmConfig,
  parseLmConfig,
  shiftedLoss,
} from '@mmit/models';
import {
  add,
  createSession,
  Graph,
  gather,
  grad,
  type HostTensor,
  hostTensor,
  linear,
  mul,
  reduceSum,
  unsqueeze,
  type Value,
} from '@mmit/tensor';
import { type TrainExample, Trainer } from '@mmit/train';
import { gaussian } from './gaussian.js';
import { initTinyLm, type TinyLmSizes, type TinyLmTokens, tinyLmConfig, tinyLmWeights } from './tiny-lm.js';

export interface LmTrainGraph {
  graph: Graph;
  config: LmConfig;
  /** Parameter names (ours); their gradients are outputs `grad.<name>`. */
  params: string[];
}

/** Most words one slot row sums (place words, colour, shape). */
export const SLOT_WORDS = 4;

/** ids + mask + positions + labels + slot rows + every weight -> loss and a gradient per weight. */
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
  const constants = decoderConstants(g, config);
  const ids = g.input('input_ids', 'int32', ['batch', 'seq']);
  const attentionMask = g.input('attention_mask', 'int32', ['batch', 'seq']);
  const positionIds = g.input('position_ids', 'int32', ['batch', 'seq']);
  const labels = g.input('labels', 'int32', ['batch', 'seq']);
  const slotIds = g.input('slot_ids', 'int32', ['batch', 'seq', SLOT_WORDS]);
  const slotWeights = g.input('slot_weights', 'float32', ['batch', 'seq', SLOT_WORDS]);
  const tokenKeep = g.input('token_keep', 'float32', ['batch', 'seq', 1]);
  const slotNoise = g.input('slot_noise', 'float32', ['batch', 'seq', config.hiddenSize]);
  const embeds = g.scope('embed', () => {
    const table = weight('embed.weight');
    const tokens = mul(gather(table, ids, 0), tokenKeep); // (B, T, d), zero at media positions
    const words = mul(gather(table, slotIds, 0), unsqueeze(slotWeights, [3])); // (B, T, K, d)
    return add(add(tokens, reduceSum(words, [2], false)), slotNoise);
  });
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
  /** Per position, the word ids whose embeddings sum to its row (media positions only). */
  slots: number[][];
  /** Per position, whether it is a media position (its own token's embedding is not used). */
  media: boolean[];
}

export interface PretrainOptions {
  sizes: TinyLmSizes;
  tokens: TinyLmTokens;
  sequences: LmSequence[];
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** onnxruntime intra-op threads (default: all cores). */
  threads?: number;
  /** Noise added to every slot row, as a fraction of the embedding table's RMS (default 0.3). */
  slotNoise?: number;
  /** Warm-up as a fraction of the steps (default 0.05). */
  warmupRatio?: number;
  /** Called after each step with its loss (progress output). */
  onStep?: (step: number, loss: number) => void;
  /** Called every `checkEvery` steps with the current weights (e.g. to measure the LM on the way). */
  checkEvery?: number;
  onCheck?: (step: number, weights: Record<string, Float32Array>) => Promise<void>;
}

export interface PretrainResult {
  weights: Record<string, Float32Array>;
  /** Loss of every step, in order. */
  losses: number[];
}

/** Right-padded batch: pad id, mask 0 and label -100 after each sequence's end; slot rows beside. */
export function padBatch(batch: LmSequence[], padId: number) {
  const length = Math.max(...batch.map((s) => s.ids.length));
  const dims = [batch.length, length];
  const ids = new Int32Array(batch.length * length).fill(padId);
  const mask = new Int32Array(batch.length * length);
  const labels = new Int32Array(batch.length * length).fill(-100);
  const positions = new Int32Array(batch.length * length);
  const slotIds = new Int32Array(batch.length * length * SLOT_WORDS);
  const slotWeights = new Float32Array(batch.length * length * SLOT_WORDS);
  const tokenKeep = new Float32Array(batch.length * length).fill(1);
  batch.forEach((s, b) => {
    ids.set(s.ids, b * length);
    labels.set(s.labels, b * length);
    mask.fill(1, b * length, b * length + s.ids.length);
    for (let t = 0; t < length; t++) positions[b * length + t] = t;
    s.slots.forEach((words, t) => {
      if (words.length > SLOT_WORDS)
        throw new RangeError(`slot row of ${words.length} words; at most ${SLOT_WORDS}`);
      const at = (b * length + t) * SLOT_WORDS;
      slotIds.set(words, at);
      slotWeights.fill(1, at, at + words.length);
    });
    s.media.forEach((isMedia, t) => {
      if (isMedia) tokenKeep[b * length + t] = 0;
    });
  });
  return {
    input_ids: hostTensor('int32', dims, ids),
    attention_mask: hostTensor('int32', dims, mask),
    position_ids: hostTensor('int32', dims, positions),
    labels: hostTensor('int32', dims, labels),
    slot_ids: hostTensor('int32', [...dims, SLOT_WORDS], slotIds),
    slot_weights: hostTensor('float32', [...dims, SLOT_WORDS], slotWeights),
    token_keep: hostTensor('float32', [...dims, 1], tokenKeep),
  };
}

/** Gaussian noise of standard deviation `scale` at media positions, zero elsewhere. (B, T, d) */
function slotNoiseTensor(batch: LmSequence[], length: number, d: number, scale: number, rng: () => number) {
  const data = new Float32Array(batch.length * length * d);
  batch.forEach((s, b) => {
    s.media.forEach((isMedia, t) => {
      if (!isMedia) return;
      for (let i = 0; i < d; i++) data[(b * length + t) * d + i] = gaussian(rng, scale);
    });
  });
  return hostTensor('float32', [batch.length, length, d], data);
}

const rms = (x: Float32Array) => Math.sqrt(x.reduce((sum, v) => sum + v * v, 0) / x.length);

/**
 * Full-weight training from a random start, through @mmit/train's Trainer (the loop the trainer
 * service runs: its data order, AdamW step, schedule and metrics); only the batch feeds are this
 * task's own (slot rows and their noise). Cosine schedule with `warmupRatio` of the steps as
 * warm-up (5% by default), no gradient clipping, every sequence once per epoch.
 */
export async function pretrainTinyLm(options: PretrainOptions): Promise<PretrainResult> {
  const { graph, params } = buildLmTrainGraph(options.sizes, options.tokens);
  const session = await createSession(graph, {
    ep: 'cpu',
    cache: false,
    ...(options.threads ? { threads: options.threads } : {}),
  });
  const dims = Object.fromEntries(tinyLmWeights(options.sizes).map((w) => [w.ours, w.dims]));
  const optimizer = new AdamW(initTinyLm(options.sizes, options.seed), {
    lr: options.lr,
    weight_decay: 0.01,
    betas: [0.9, 0.98],
  });
  // The Trainer orders and batches examples by id; the sequence's slots travel beside it.
  const examples: TrainExample[] = options.sequences.map((s, i) => ({
    id: String(i),
    media: '',
    inputIds: Int32Array.from(s.ids),
    labels: Int32Array.from(s.labels),
  }));
  const rng = createRng(options.seed + 1);
  const feedBatch = async (batch: TrainExample[], current: Record<string, Float32Array>) => {
    const sequences = batch.map((e) => options.sequences[Number(e.id)]);
    const feeds: Record<string, HostTensor> = padBatch(sequences, options.tokens.padTokenId);
    const length = feeds.input_ids.dims[1];
    const noiseScale = (options.slotNoise ?? 0.3) * rms(current['embed.weight']);
    feeds.slot_noise = slotNoiseTensor(sequences, length, options.sizes.hiddenSize, noiseScale, rng);
    for (const name of params) feeds[name] = { dtype: 'float32', dims: dims[name], data: current[name] };
    const tokens = sequences.reduce((n, s) => n + s.ids.length, 0);
    const targets = sequences.reduce((n, s) => n + s.labels.filter((l) => l !== -100).length, 0);
    return { feeds, tokens, targets };
  };
  const trainer = new Trainer({
    step: { params },
    session,
    train: examples,
    validation: [],
    optimizer,
    feedBatch,
    config: {
      batchSize: options.batchSize,
      gradAccumulation: 1,
      totalSteps: options.steps,
      maxGradNorm: null,
      schedule: {
        type: 'cosine',
        warmupSteps: Math.round(options.steps * (options.warmupRatio ?? 0.05)),
        totalSteps: options.steps,
        minLrRatio: 0.1,
      },
      seed: options.seed + 1,
      evalEvery: 0,
      checkpointEvery: 0,
      padTokenId: options.tokens.padTokenId,
      padToMultipleOf: 1,
      groupByLength: false,
    },
  });
  const losses: number[] = [];
  try {
    await trainer.run({
      onStep: async (metrics) => {
        losses.push(metrics.loss);
        options.onStep?.(metrics.step, metrics.loss);
        if (options.onCheck && options.checkEvery && metrics.step % options.checkEvery === 0) {
          await options.onCheck(metrics.step, optimizer.float32());
        }
      },
    });
  } finally {
    await session.release();
  }
  return { weights: optimizer.float32(), losses };
}
