// The run loop: batches in, optimizer steps out. One code path for the service, the library and
// the parity tests. Each optimizer step takes `gradAccumulation` micro-batches from the data
// cursor, runs the step graph on each (loss + gradients of the trainable parameters), averages
// the gradients in float64 (each micro-batch's loss is already a mean over its labelled tokens,
// as transformers' Trainer does), clips them by global norm, and applies AdamW with the
// scheduled lr. Features for the next batch are requested before the current one runs.
// Checkpoints are taken only between optimizer steps, so a saved data position is a batch boundary.
// Everything between two session.run calls is on the critical path: onnxruntime-node 1.30 runs a
// session synchronously on the JS thread (its async `run` only defers to setImmediate), so no JS
// work overlaps a step. Hence the parameter-sized arrays (gradient sums, float32 parameters) are
// allocated once and refilled, not rebuilt per step.
// A step graph of another kind (the shapes example's full-weight LM pretraining) brings its own
// batch feeds (`feedBatch`) and keeps everything else: order, accumulation, clipping, AdamW, metrics.
// Limits: one step graph (one shape family); the graph computes the LM head only where labels are.
import {
  clipGlobalNorm,
  type GroupedAdamW,
  type LlavaStepGraph,
  llavaStepFeeds,
  type OptimizerState,
} from '@mmit/models';
import type { HostTensor, Session } from '@mmit/tensor';
import { collate, DataCursor, type DataPosition, DEFAULT_MEGABATCH, type TrainExample } from './batching.js';
import { type FeatureSource, stackFeatures } from './features.js';
import { lrMultiplier, type ScheduleOptions } from './schedule.js';

export interface LoopConfig {
  batchSize: number;
  gradAccumulation: number;
  totalSteps: number;
  maxGradNorm: number | null;
  schedule: ScheduleOptions;
  seed: number;
  /** Validation loss before the first step, every N steps and after the last (0: after the last only). */
  evalEvery: number;
  /** Checkpoint every N steps and after the last (0: after the last only). */
  checkpointEvery: number;
  padTokenId: number;
  padToMultipleOf: number;
  /** Batches of similar length (true) or in plain shuffled order. */
  groupByLength: boolean;
}

/** What resumes a run: the loop's counters and data position, and the optimizer's state. */
export interface LoopState {
  step: number;
  data: DataPosition;
  samplesSeen: number;
  tokensSeen: number;
}

export interface TrainerCheckpoint {
  loop: LoopState;
  optimizer: OptimizerState;
}

export interface StepMetrics {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  lr: number;
  lrs: Record<string, number>;
  gradNorm: number;
  samples: number;
  tokens: number;
  stepSeconds: number;
  samplesPerSec: number;
  tokensPerSec: number;
  etaSec: number;
}

export interface EvalMetrics {
  step: number;
  loss: number;
  samples: number;
  targets: number;
}

export interface LoopHooks {
  onStep?(metrics: StepMetrics): void | Promise<void>;
  onEval?(metrics: EvalMetrics): void | Promise<void>;
  onCheckpoint?(checkpoint: TrainerCheckpoint): void | Promise<void>;
  /** Checked before every step: an aborted signal ends the loop by throwing its reason. */
  signal?: AbortSignal;
}

/** A micro-batch's graph inputs (parameters included) and what it counts: tokens seen, labelled targets. */
export interface BatchFeeds {
  feeds: Record<string, HostTensor>;
  tokens: number;
  targets: number;
}

/**
 * Builds a micro-batch's feeds for a step graph other than the LLaVA step (e.g. the shapes
 * example's full-weight LM pretraining, whose batches carry slot rows instead of features).
 */
export type FeedBatch = (
  examples: TrainExample[],
  params: Record<string, Float32Array>,
) => Promise<BatchFeeds>;

export interface TrainerOptions {
  /** The step graph: its outputs are `loss` and `grad.<param>` for each of `params`. */
  step: Pick<LlavaStepGraph, 'params'> & Partial<Pick<LlavaStepGraph, 'graph' | 'options'>>;
  session: Session;
  /** Where LLaVA batches get their features; unused with `feedBatch`. */
  features?: FeatureSource;
  /** Feeds for a step graph of another kind; default: LLaVA batches (collate, features, llavaStepFeeds). */
  feedBatch?: FeedBatch;
  train: TrainExample[];
  validation: TrainExample[];
  optimizer: GroupedAdamW;
  config: LoopConfig;
  resume?: TrainerCheckpoint;
}

const now = () => performance.now() / 1000;

/**
 * Adds one micro-batch's gradient divided by `count` into `sum`; the first micro-batch overwrites
 * (0 + x is x), so the sums need no clearing and one micro-batch is a plain widening copy.
 */
function accumulate(sum: Float64Array, g: Float32Array, micro: number, count: number): void {
  if (count === 1) sum.set(g);
  else if (micro === 0) for (let i = 0; i < g.length; i++) sum[i] = g[i] / count;
  else for (let i = 0; i < g.length; i++) sum[i] += g[i] / count;
}

export class Trainer {
  readonly cursor: DataCursor;
  private loop: LoopState;
  /** float32 copies of the parameters that the step graph is fed; refilled in place after each update. */
  private readonly params: Record<string, Float32Array>;
  /** float64 gradient sums of one optimizer step; reused, so a step allocates no parameter-sized arrays. */
  private readonly grads: Record<string, Float64Array>;
  /** Exponential average of step time, for the ETA. */
  private stepSecondsAverage = 0;

  constructor(private readonly options: TrainerOptions) {
    const { train, config, resume, optimizer } = options;
    const lengths = train.map((e) => e.inputIds.length);
    if (resume) optimizer.load(resume.optimizer);
    this.cursor = new DataCursor(
      lengths,
      config.batchSize,
      resume ? resume.loop.data : { seed: config.seed },
      config.groupByLength ? DEFAULT_MEGABATCH : 1,
    );
    this.loop = resume ? { ...resume.loop, data: this.cursor.state } : this.freshState();
    this.params = optimizer.float32Into({});
    this.grads = Object.fromEntries(
      options.step.params.map((name) => [name, new Float64Array(this.params[name].length)]),
    );
  }

  private freshState(): LoopState {
    return { step: 0, data: this.cursor.state, samplesSeen: 0, tokensSeen: 0 };
  }

  get step(): number {
    return this.loop.step;
  }

  /** The current float32 parameters (what the graph is fed; updated in place by each step: copy to keep). */
  get parameters(): Record<string, Float32Array> {
    return this.params;
  }

  checkpoint(): TrainerCheckpoint {
    return { loop: { ...this.loop, data: this.cursor.state }, optimizer: this.options.optimizer.state() };
  }

  /** Runs until `totalSteps`; returns the last step's metrics (undefined when nothing was left to do). */
  async run(hooks: LoopHooks = {}): Promise<StepMetrics | undefined> {
    const { config } = this.options;
    let last: StepMetrics | undefined;
    // A baseline before any update, so the validation curve starts where training did.
    if (this.loop.step === 0 && config.evalEvery > 0 && this.options.validation.length > 0) {
      await hooks.onEval?.(await this.evaluate(this.options.validation));
    }
    while (this.loop.step < config.totalSteps) {
      if (hooks.signal?.aborted) throw hooks.signal.reason;
      last = await this.trainStep();
      await hooks.onStep?.(last);
      const final = this.loop.step === config.totalSteps;
      const due = (every: number) => final || (every > 0 && this.loop.step % every === 0);
      if (due(config.evalEvery) && this.options.validation.length > 0) {
        await hooks.onEval?.(await this.evaluate(this.options.validation));
      }
      if (due(config.checkpointEvery)) await hooks.onCheckpoint?.(this.checkpoint());
    }
    return last;
  }

  private async batchFeeds(examples: TrainExample[]): Promise<BatchFeeds> {
    if (this.options.feedBatch) return this.options.feedBatch(examples, this.params);
    const step = this.options.step;
    const features = this.options.features;
    if (!step.graph || !step.options || !features) {
      throw new Error('a LLaVA step needs its step graph and a feature source (or pass feedBatch)');
    }
    const { padTokenId, padToMultipleOf } = this.options.config;
    const collated = collate(examples, padTokenId, padToMultipleOf);
    const stacked = await stackFeatures(
      features,
      examples.map((e) => e.media),
    );
    const feeds = llavaStepFeeds(
      { graph: step.graph, params: step.params, options: step.options },
      {
        features: stacked,
        inputIds: collated.inputIds,
        attentionMask: collated.attentionMask,
        labels: collated.labels,
      },
      this.params,
    );
    return { feeds, tokens: collated.tokens, targets: collated.targets };
  }

  private async trainStep(): Promise<StepMetrics> {
    const { config, optimizer, session, step, train, features } = this.options;
    const started = now();
    const grads = this.grads;
    const outputs = ['loss', ...step.params.map((n) => `grad.${n}`)];
    let lossSum = 0;
    let samples = 0;
    let tokens = 0;
    let epoch = 0;
    for (let micro = 0; micro < config.gradAccumulation; micro++) {
      const taken = this.cursor.take();
      epoch = taken.epoch;
      const examples = taken.indices.map((i) => train[i]);
      features?.prefetch(this.cursor.peek().map((i) => train[i].media));
      const batch = await this.batchFeeds(examples);
      const out = await session.run(batch.feeds, outputs);
      lossSum += out.loss.data[0] as number;
      for (const name of step.params) {
        accumulate(grads[name], out[`grad.${name}`].data as Float32Array, micro, config.gradAccumulation);
      }
      samples += examples.length;
      tokens += batch.tokens;
    }
    const gradNorm = clipGlobalNorm(grads, config.maxGradNorm);
    const scale = lrMultiplier(config.schedule, this.loop.step + 1);
    optimizer.step(grads, scale);
    optimizer.float32Into(this.params);
    this.loop = {
      step: this.loop.step + 1,
      data: this.cursor.state,
      samplesSeen: this.loop.samplesSeen + samples,
      tokensSeen: this.loop.tokensSeen + tokens,
    };
    const stepSeconds = now() - started;
    this.stepSecondsAverage =
      this.stepSecondsAverage === 0 ? stepSeconds : 0.9 * this.stepSecondsAverage + 0.1 * stepSeconds;
    return {
      step: this.loop.step,
      totalSteps: config.totalSteps,
      epoch,
      loss: lossSum / config.gradAccumulation,
      lr: optimizer.groups[0].lr * scale,
      // 'projector.no_decay' shares the projector's rate: one entry per kind of parameter.
      lrs: Object.fromEntries(optimizer.groups.map((g) => [g.name.split('.')[0], g.lr * scale])),
      gradNorm,
      samples,
      tokens,
      stepSeconds,
      samplesPerSec: samples / stepSeconds,
      tokensPerSec: tokens / stepSeconds,
      etaSec: (config.totalSteps - this.loop.step) * this.stepSecondsAverage,
    };
  }

  /** Mean loss over every labelled token of `examples` (batches in length order, no shuffling). */
  async evaluate(examples: TrainExample[]): Promise<EvalMetrics> {
    const order = examples
      .map((_, i) => i)
      .sort((a, b) => examples[b].inputIds.length - examples[a].inputIds.length);
    let weighted = 0;
    let targets = 0;
    for (let i = 0; i < order.length; i += this.options.config.batchSize) {
      const batch = await this.batchFeeds(
        order.slice(i, i + this.options.config.batchSize).map((k) => examples[k]),
      );
      if (batch.targets === 0) continue;
      const out = await this.options.session.run(batch.feeds, ['loss']);
      weighted += (out.loss.data[0] as number) * batch.targets;
      targets += batch.targets;
    }
    return {
      step: this.loop.step,
      loss: targets ? weighted / targets : Number.NaN,
      samples: examples.length,
      targets,
    };
  }
}
