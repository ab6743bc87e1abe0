// The projector stage with the engine alone (no services): features -> projector -> frozen LM.
// Training examples are rendered with the trainer's own chat template code (@mmit/train's
// encodeChat), the step is @mmit/models' LLaVA step graph (LM weights are initializers; only the
// projector is a parameter), and answers come from greedy generation over the same frozen LM with
// the projected rows spliced in where the `<image>` / `<audio>` tokens are.
// This is the quick check that the task is learnable from random frozen features before the
// services are involved, and the reference the pipeline run can be compared with.
import { createGenerator } from '@mmit/inference';
import { createRng } from '@mmit/media';
import {
  AdamW,
  applyProjector,
  buildLlavaStepGraph,
  initProjector,
  type LanguageModel,
  llavaStepFeeds,
  type ProjectorSpec,
  type ProjectorType,
  projectorParams,
  type Tokenizer,
} from '@mmit/models';
import { createSession, Graph, type HostTensor } from '@mmit/tensor';
import { collate, encodeChat, lrMultiplier } from '@mmit/train';
import { type FeatureMatrix, featureRows } from './features.js';

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
  batchSize: number;
  lr: number;
  seed: number;
  onStep?: (step: number, loss: number) => void;
}

export interface TrainedProjector {
  spec: ProjectorSpec;
  params: Record<string, Float32Array>;
  losses: number[];
}

function encodeExample(
  options: Pick<ProjectorStageOptions, 'tokenizer' | 'mediaToken' | 'features'>,
  e: StageExample,
) {
  return encodeChat(
    options.tokenizer,
    [
      { from: 'human', value: e.prompt },
      { from: 'gpt', value: e.answer },
    ],
    {
      imageToken: options.mediaToken,
      imageTokenId: options.tokenizer.tokenId(options.mediaToken),
      imageRows: options.features.tokens,
    },
  );
}

function stackItems(features: FeatureMatrix, items: number[]): HostTensor<'float32'> {
  const size = features.tokens * features.dim;
  const data = new Float32Array(items.length * size);
  for (const [i, item] of items.entries()) data.set(featureRows(features, item), i * size);
  return { dtype: 'float32', dims: [items.length, features.tokens, features.dim], data };
}

/** Trains a projector with AdamW on a cosine schedule; the LM stays frozen. */
export async function trainProjector(options: ProjectorStageOptions): Promise<TrainedProjector> {
  const spec: ProjectorSpec = {
    type: options.projector ?? 'mlp2x_gelu',
    inputDim: options.features.dim,
    outputDim: options.lm.config.hiddenSize,
  };
  const mediaTokenId = options.tokenizer.tokenId(options.mediaToken);
  const step = buildLlavaStepGraph(options.lm, {
    projector: spec,
    imageTokenId: mediaTokenId,
    head: 'labelled',
  });
  const session = await createSession(step.graph, { ep: 'cpu', cache: false });
  const encoded = options.examples.map((e) => ({ example: e, sample: encodeExample(options, e) }));
  const optimizer = new AdamW(initProjector(spec, options.seed), { lr: options.lr, weight_decay: 0 });
  const rng = createRng(options.seed);
  const padId = options.tokenizer.padTokenId ?? 0;
  const losses: number[] = [];
  let order: number[] = [];
  try {
    for (let s = 1; s <= options.steps; s++) {
      if (order.length < options.batchSize) {
        const more = encoded.map((_, i) => i);
        for (let i = more.length - 1; i > 0; i--) {
          const j = Math.floor(rng() * (i + 1));
          [more[i], more[j]] = [more[j], more[i]];
        }
        order = order.concat(more);
      }
      const picked = order.splice(0, options.batchSize).map((i) => encoded[i]);
      const batch = collate(
        picked.map(({ example, sample }, i) => ({
          id: String(i),
          media: String(example.item),
          inputIds: Int32Array.from(sample.inputIds),
          labels: Int32Array.from(sample.labels),
        })),
        padId,
      );
      const feeds = llavaStepFeeds(
        step,
        {
          ...batch,
          features: stackItems(
            options.features,
            picked.map((p) => p.example.item),
          ),
        },
        optimizer.float32(),
      );
      const out = await session.run(feeds);
      const loss = (out.loss.data as Float32Array)[0];
      const grads = Object.fromEntries(step.params.map((n) => [n, out[`grad.${n}`].data as Float32Array]));
      const warmupSteps = Math.round(options.steps * 0.03);
      optimizer.step(
        grads,
        lrMultiplier({ type: 'cosine', warmupSteps, totalSteps: options.steps, minLrRatio: 0 }, s),
      );
      losses.push(loss);
      options.onStep?.(s, loss);
    }
  } finally {
    await session.release();
  }
  return { spec, params: optimizer.float32(), losses };
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
