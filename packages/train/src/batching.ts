// Length-bucketed batching with right padding, and the data cursor whose position a checkpoint
// stores. An epoch's order comes from the run's seeded generator: shuffle, cut into megabatches
// of `megabatch` batches, sort each megabatch by length (longest first) so batches hold samples
// of similar length and padding stays small, cut into batches, then shuffle the batch order so
// long batches are not clustered (LLaVA's length-grouped sampler does the first three).
import type { HostTensor } from '@mmit/tensor';
import { SeededRandom } from './random.js';
import { IGNORE } from './template.js';

/** One tokenized sample: image tokens already expanded to one id per feature row. */
export interface TrainExample {
  id: string;
  /** sha256 of the media whose features fill the image tokens. */
  media: string;
  inputIds: Int32Array;
  labels: Int32Array;
}

export const DEFAULT_MEGABATCH = 50;

/** The batches of one epoch, as indices into the examples. */
export function planEpoch(
  lengths: readonly number[],
  batchSize: number,
  random: SeededRandom,
  megabatch = DEFAULT_MEGABATCH,
): number[][] {
  const order = random.shuffle(lengths.map((_, i) => i));
  const span = batchSize * megabatch;
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += span) {
    // Ties keep shuffled order (sort is stable), so equal lengths still mix.
    const group = order.slice(start, start + span).sort((a, b) => lengths[b] - lengths[a]);
    for (let i = 0; i < group.length; i += batchSize) batches.push(group.slice(i, i + batchSize));
  }
  return random.shuffle(batches);
}

/** Where the data stream stands; what a checkpoint needs to continue exactly. */
export interface DataPosition {
  epoch: number;
  /** Batches of the current epoch already taken. */
  batchInEpoch: number;
  /** Generator state before this epoch's plan was drawn. */
  epochRandomState: number;
}

/** An endless stream of batches over epochs, resumable from a DataPosition. */
export class DataCursor {
  private readonly random: SeededRandom;
  private plan: number[][];
  private position: DataPosition;

  constructor(
    private readonly lengths: readonly number[],
    private readonly batchSize: number,
    start: DataPosition | { seed: number },
    /** Batches per length-sorted group; 1 leaves the shuffled order as it is. */
    private readonly megabatch = DEFAULT_MEGABATCH,
  ) {
    if (lengths.length === 0) throw new RangeError('no training examples to batch');
    this.random = new SeededRandom(0);
    this.position =
      'seed' in start ? { epoch: 0, batchInEpoch: 0, epochRandomState: start.seed >>> 0 } : { ...start };
    this.plan = this.drawPlan();
  }

  get batchesPerEpoch(): number {
    return this.plan.length;
  }

  /** The position to save (copy). */
  get state(): DataPosition {
    return { ...this.position };
  }

  private drawPlan(): number[][] {
    this.random.restore(this.position.epochRandomState);
    return planEpoch(this.lengths, this.batchSize, this.random, this.megabatch);
  }

  private roll(): void {
    if (this.position.batchInEpoch < this.plan.length) return;
    this.position = { epoch: this.position.epoch + 1, batchInEpoch: 0, epochRandomState: this.random.state };
    this.plan = this.drawPlan();
  }

  /** The next batch without taking it (for prefetching). */
  peek(): number[] {
    this.roll();
    return this.plan[this.position.batchInEpoch];
  }

  take(): { epoch: number; indices: number[] } {
    const indices = this.peek();
    const epoch = this.position.epoch;
    this.position.batchInEpoch += 1;
    return { epoch, indices };
  }
}

export interface CollatedBatch {
  inputIds: HostTensor<'int32'>;
  attentionMask: HostTensor<'int32'>;
  labels: HostTensor<'int32'>;
  /** Non-padding tokens, and positions whose next token carries a label (the loss's denominator). */
  tokens: number;
  targets: number;
}

/** Right-pads to the longest example: pad id in ids, 0 in the mask, -100 in labels. */
export function collate(examples: TrainExample[], padTokenId: number, padToMultipleOf = 1): CollatedBatch {
  const longest = Math.max(...examples.map((e) => e.inputIds.length));
  const length = Math.ceil(longest / padToMultipleOf) * padToMultipleOf;
  const b = examples.length;
  const ids = new Int32Array(b * length).fill(padTokenId);
  const mask = new Int32Array(b * length);
  const labels = new Int32Array(b * length).fill(IGNORE);
  let tokens = 0;
  let targets = 0;
  examples.forEach((e, row) => {
    ids.set(e.inputIds, row * length);
    labels.set(e.labels, row * length);
    mask.fill(1, row * length, row * length + e.inputIds.length);
    tokens += e.inputIds.length;
    for (let t = 1; t < e.labels.length; t++) if (e.labels[t] !== IGNORE) targets++;
  });
  return {
    inputIds: { dtype: 'int32', dims: [b, length], data: ids },
    attentionMask: { dtype: 'int32', dims: [b, length], data: mask },
    labels: { dtype: 'int32', dims: [b, length], data: labels },
    tokens,
    targets,
  };
}
