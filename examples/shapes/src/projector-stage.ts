// The projector stage with the engine alone (no services): features -> projector -> frozen LM.
// Training is an in-memory run of @mmit/train: the examples become LLaVA conversation records
// encoded by the trainer's own code (buildExamples, the chat template), the features are served
// from memory (MemoryFeatures), and prepareTrainer assembles the trainer service's step graph
// (LM weights are initializers; only the projector is a parameter), optimizer, schedule and data
// order from the same settings the pipeline sends the service (projector-training.ts). Answers come
// from greedy generation over the same frozen LM with the projected rows spliced in where the
// `<image>` / `<audio>` tokens are.
// This is the quick check that the task is learnable from random frozen features before the
// services are involved, and the reference the pipeline run can be compared with.
import { createGenerator } from '@mmit/inference';
import {
  applyProjector,
  type LanguageModel,
  type ProjectorSpec,
  type ProjectorType,
  projectorParams,
  type Tokenizer,
} from '@mmit/models';
import { createSession, Graph, type HostTensor } from '@mmit/tensor';
import {
  buildExamples,
  type DatasetSample,
  MemoryFeatures,
  padTokenIdOf,
  prepareTrainer,
  type StepMetrics,
  TrainingSettingsSchema,
} from '@mmit/train';
import { type FeatureMatrix, featureRows } from './features.js';
import { MEDIA_TOKEN } from './lm-corpus.js';
import { projectorTraining } from './projector-training.js';

export interface StageExample {
  /** Row of the feature matrix the media tokens take. */
  item: number;
  /** The whole human turn, media token included (lm-corpus.ts vqaPrompt). */
  prompt: string;
  answer: string;
}

export interface ProjectorStageOptions {
  lm: LanguageModel;
  tokenizer: Tokenizer;
  /** `<image>` or `<audio>`: the token the feature rows replace. */
  mediaToken: string;
  features: FeatureMatrix;
  examples: StageExample[];
  /** LLaVA-1.5's mlp2x_gelu unless set. */
  projector?: ProjectorType;
  steps: number;
  lr: number;
  seed: number;
  onStep?: (metrics: StepMetrics) => void;
}

export interface TrainedProjector {
  spec: ProjectorSpec;
  params: Record<string, Float32Array>;
  losses: number[];
}

function stackItems(features: FeatureMatrix, items: number[]): HostTensor<'float32'> {
  const size = features.tokens * features.dim;
  const data = new Float32Array(items.length * size);
  for (const [i, item] of items.entries()) data.set(featureRows(features, item), i * size);
  return { dtype: 'float32', dims: [items.length, features.tokens, features.dim], data };
}

/** Each item's rows as the block a feature source serves, keyed by the item's row number. */
function memoryFeatures(features: FeatureMatrix): MemoryFeatures {
  const blocks = new Map<string, HostTensor>();
  for (let item = 0; item < features.count; item++) {
    blocks.set(String(item), {
      dtype: 'float32',
      dims: [features.tokens, features.dim],
      data: featureRows(features, item),
    });
  }
  return new MemoryFeatures(blocks);
}

/** Trains a projector through the trainer's loop (AdamW, warm-up and cosine); the LM stays frozen. */
export async function trainProjector(options: ProjectorStageOptions): Promise<TrainedProjector> {
  const { lm, tokenizer, mediaToken, features } = options;
  const modality = mediaToken === MEDIA_TOKEN.audio ? 'audio' : 'image';
  const settings = TrainingSettingsSchema.parse(projectorTraining(options));
  const mediaTokenId = tokenizer.tokenId(mediaToken);
  const samples: DatasetSample[] = options.examples.map((e, i) => ({
    id: `example-${i}`,
    split: 'train',
    media: String(e.item),
    modality,
    conversations: [
      { from: 'human', value: e.prompt },
      { from: 'gpt', value: e.answer },
    ],
  }));
  const sets = buildExamples(samples, tokenizer, settings.template, {
    imageToken: mediaToken,
    imageTokenId: mediaTokenId,
    imageRows: features.tokens,
    maxSeqLen: settings.maxSeqLen,
    dropReason: (sample) => (Number(sample.media) < features.count ? undefined : 'no cached features'),
  });
  // The trainer service counts what it leaves out; here every example is ours, so any is a bug.
  if (sets.counts.dropped > 0) {
    throw new Error(
      `${sets.counts.dropped} of ${samples.length} projector examples cannot be trained on: ${JSON.stringify(sets.counts.dropReasons)}`,
    );
  }
  const prepared = await prepareTrainer(settings, {
    lm,
    imageTokenId: mediaTokenId,
    featureWidth: features.dim,
    padTokenId: padTokenIdOf(tokenizer, lm),
    features: memoryFeatures(features),
    train: sets.train,
    validation: [],
  });
  const losses: number[] = [];
  try {
    await prepared.trainer.run({
      onStep: (metrics) => {
        losses.push(metrics.loss);
        options.onStep?.(metrics);
      },
    });
  } finally {
    await prepared.session.release();
  }
  // The trainer refills its parameter arrays in place; the result keeps copies.
  const params = Object.fromEntries(
    Object.entries(prepared.trainer.parameters).map(([name, data]) => [name, data.slice()]),
  );
  return { spec: prepared.projector, params, losses };
}

export interface AnswerOptions {
  lm: LanguageModel;
  tokenizer: Tokenizer;
  mediaToken: string;
  projector: TrainedProjector;
  features: FeatureMatrix;
  questions: { item: number; prompt: string }[];
  batchSize?: number;
  maxNewTokens?: number;
}

/** Greedy answers (decoded, trimmed) to each question about its item, through the projector. */
export async function answerWithProjector(options: AnswerOptions): Promise<string[]> {
  const { projector, features } = options;
  const g = new Graph('projector');
  const params = projectorParams(g, projector.spec);
  const input = g.input('features', 'float32', ['batch', features.tokens, features.dim]);
  g.output('rows', applyProjector(projector.spec, params, input));
  const session = await createSession(g, { ep: 'cpu', cache: false });
  const weights = Object.fromEntries(
    Object.entries(projector.params).map(([name, data]) => [
      name,
      { dtype: 'float32' as const, dims: g.params.find((p) => p.name === name)!.shape as number[], data },
    ]),
  );
  try {
    return await answerWithRows({
      ...options,
      rowsPerItem: features.tokens,
      rows: async (items) => {
        const out = await session.run({ features: stackItems(features, items), ...weights });
        return out.rows.data as Float32Array;
      },
    });
  } finally {
    await session.release();
  }
}

export interface RowAnswerOptions {
  lm: LanguageModel;
  tokenizer: Tokenizer;
  mediaToken: string;
  questions: { item: number; prompt: string }[];
  rowsPerItem: number;
  /** The LM-space rows of these items, (items, rowsPerItem, d) row-major. */
  rows: (items: number[]) => Promise<Float32Array>;
  batchSize?: number;
  maxNewTokens?: number;
}

/**
 * Greedy answers with `rows` spliced in where the media token's positions are: a projector's
 * output, or any rows to compare with (the LM's ceiling with ideal slot rows, a fitted map).
 */
export async function answerWithRows(options: RowAnswerOptions): Promise<string[]> {
  const { lm, tokenizer, rowsPerItem } = options;
  const generator = createGenerator(lm);
  const mediaTokenId = tokenizer.tokenId(options.mediaToken);
  const d = lm.config.hiddenSize;
  const answers: string[] = [];
  const batchSize = options.batchSize ?? 64;
  for (let from = 0; from < options.questions.length; from += batchSize) {
    const chunk = options.questions.slice(from, from + batchSize);
    const prompts = chunk.map((q) => {
      const text = tokenizer.renderChat([{ role: 'user', content: q.prompt }], {
        addGenerationPrompt: true,
      });
      return tokenizer
        .encode(text, { addSpecialTokens: false })
        .flatMap((id) => (id === mediaTokenId ? new Array<number>(rowsPerItem).fill(id) : [id]));
    });
    const length = Math.max(...prompts.map((p) => p.length));
    const ids = new Int32Array(chunk.length * length).fill(tokenizer.padTokenId ?? 0);
    const mask = new Int32Array(chunk.length * length);
    prompts.forEach((p, b) => {
      ids.set(p, b * length + length - p.length);
      mask.fill(1, b * length + length - p.length, (b + 1) * length);
    });
    const embeds = await generator.embed({ dtype: 'int32', dims: [chunk.length, length], data: ids });
    const rows = await options.rows(chunk.map((q) => q.item)); // (B, N, d)
    const e = embeds.data as Float32Array;
    chunk.forEach((_, b) => {
      let k = 0;
      for (let t = 0; t < length; t++) {
        if (ids[b * length + t] !== mediaTokenId) continue;
        e.set(rows.subarray((b * rowsPerItem + k) * d, (b * rowsPerItem + k + 1) * d), (b * length + t) * d);
        k++;
      }
    });
    const generated = await generator.generateFromEmbeds(
      embeds,
      { dtype: 'int32', dims: [chunk.length, length], data: mask },
      { maxNewTokens: options.maxNewTokens ?? 4 },
    );
    for (const g of generated) answers.push(tokenizer.decode(g, { skipSpecialTokens: true }).trim());
  }
  return answers;
}
