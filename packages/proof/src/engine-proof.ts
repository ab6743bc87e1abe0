// The proof with the engine alone: generate the task, write the random frozen encoders and the
// tiny LM as checkpoint folders, pretrain the LM on the training text (then frozen), compute
// features, train one projector per modality, and score the test questions. No services: this is
// the early check that the targets are reachable, and what `mmit bench shapes --engine-only` runs.
import { join } from 'node:path';
import { languageModelFromCheckpoint, loadTokenizer, openCheckpointFolder } from '@mmit/models';
import { writeRandomClipVision, writeRandomWhisperEncoder } from './encoders.js';
import { accuracyByType, chanceByType, type Scores } from './evaluate.js';
import { audioFeatures, type FeatureMatrix, imageFeatures } from './features.js';
import { type PlannedItem, planTask, renderItem, type Split } from './generate.js';
import {
  compactDescription,
  DESCRIBE_INSTRUCTION,
  encodeForPretraining,
  pretrainConversations,
} from './lm-corpus.js';
import { pretrainTinyLm } from './lm-pretrain.js';
import { answerWithProjector, type StageExample, trainProjector } from './projector-stage.js';
import type { ItemKind, TaskQuestion } from './task.js';
import { DEFAULT_LM_SIZES, writeTinyLmCheckpoint } from './tiny-lm.js';
import { wordVocabulary, writeWordTokenizer } from './word-tokenizer.js';

export interface EngineProofOptions {
  seed: number;
  train: number;
  test: number;
  /** Folder for the checkpoints (lm/, vision/, audio/). */
  workDir: string;
  /** Full-weight pretraining steps of the LM (default 1500) and its peak lr (default 3e-3). */
  lmSteps?: number;
  lmLr?: number;
  /** Extra text-only scenes and clips the LM is pretrained on (default 2000 each). */
  lmScenes?: number;
  projectorSteps?: number;
  projectorLr?: number;
  /** Break a stage on purpose: 'shuffle-features' gives every item another item's features. */
  sabotage?: 'shuffle-features';
  log?: (line: string) => void;
}

export interface EngineProofResult {
  accuracy: Scores;
  chance: Scores;
  lmLosses: number[];
  projectorLosses: Record<ItemKind, number[]>;
  /** Every test question with the answer given. */
  answers: { question: TaskQuestion; got: string }[];
  seconds: number;
}

/** Every word the task can say (captions, questions, answers, instructions), for the vocabulary. */
function taskTexts(items: PlannedItem[], questions: TaskQuestion[]): string[] {
  return [
    ...items.map(compactDescription),
    ...questions.flatMap((q) => [q.question, q.answer]),
    ...Object.values(DESCRIBE_INSTRUCTION),
  ];
}

/** A derangement-free rotation: item i reads item (i + 1)'s features. */
function shuffled(m: FeatureMatrix): FeatureMatrix {
  const size = m.tokens * m.dim;
  const data = new Float32Array(m.data.length);
  for (let i = 0; i < m.count; i++)
    data.set(m.data.subarray(((i + 1) % m.count) * size, ((i + 2) % m.count || m.count) * size), i * size);
  return { ...m, data };
}

export async function runEngineProof(options: EngineProofOptions): Promise<EngineProofResult> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const plan = planTask({ seed: options.seed, train: options.train, test: options.test });
  const allQuestions = [...plan.questions.train, ...plan.questions.test];
  // The LM reads more text than the media corpus holds: scenes drawn by the same generator from
  // the training distribution (held-out combinations excluded), text only, so nothing is rendered.
  const textPlan = planTask({
    seed: options.seed + 1_000_003,
    train: options.lmScenes ?? 2000,
    test: 0,
    heldOut: { pairs: plan.heldOutPairs, patterns: plan.heldOutPatterns },
  });

  const lmDir = join(options.workDir, 'lm');
  const vocabulary = wordVocabulary([
    ...taskTexts(plan.items, allQuestions),
    ...taskTexts(textPlan.items, textPlan.questions.train),
  ]);
  writeWordTokenizer(lmDir, vocabulary);
  const tokenizer = loadTokenizer(lmDir);
  const tokens = { eosTokenId: tokenizer.eosTokenId ?? 2, padTokenId: tokenizer.padTokenId ?? 5 };
  const sizes = { ...DEFAULT_LM_SIZES, vocabSize: vocabulary.length };
  const sequences = [...pretrainConversations(plan), ...pretrainConversations(textPlan)].map((c) =>
    encodeForPretraining(tokenizer, c),
  );
  log(
    `pretraining the tiny LM (${vocabulary.length} words, ${sequences.length} conversations), full weights`,
  );
  const pretrained = await pretrainTinyLm({
    sizes,
    tokens,
    sequences,
    steps: options.lmSteps ?? 1500,
    batchSize: 32,
    lr: options.lmLr ?? 3e-3,
    seed: options.seed,
  });
  writeTinyLmCheckpoint(lmDir, sizes, tokens, pretrained.weights, {
    'mmit.stage': 'pretrained on task text, frozen',
  });
  const lm = languageModelFromCheckpoint(openCheckpointFolder(lmDir));

  writeRandomClipVision(join(options.workDir, 'vision'), options.seed + 11);
  writeRandomWhisperEncoder(join(options.workDir, 'audio'), options.seed + 12);
  const rendered = await Promise.all(plan.items.map((item, i) => renderItem(item, i)));
  const indexOf = new Map<string, number>();
  const byKind = (kind: ItemKind) => rendered.filter((r) => r.kind === kind);
  const features: Record<ItemKind, FeatureMatrix> = {
    image: await imageFeatures(
      join(options.workDir, 'vision'),
      byKind('image').map((r) => r.bytes),
    ),
    audio: await audioFeatures(
      join(options.workDir, 'audio'),
      byKind('audio').map((r) => r.bytes),
    ),
  };
  for (const kind of ['image', 'audio'] as const) {
    for (const [i, r] of byKind(kind).entries()) indexOf.set(`${r.split}/${r.name}`, i);
    if (options.sabotage === 'shuffle-features') features[kind] = shuffled(features[kind]);
  }
  const itemOf = (split: Split, q: TaskQuestion) => {
    const i = indexOf.get(`${split}/${q.file}`);
    if (i === undefined) throw new Error(`no features for ${split}/${q.file}`);
    return i;
  };

  const answers = new Map<TaskQuestion, string>();
  const projectorLosses = {} as Record<ItemKind, number[]>;
  for (const kind of ['image', 'audio'] as const) {
    const mediaToken = kind === 'image' ? '<image>' : '<audio>';
    const examples: StageExample[] = [
      ...rendered
        .filter((r) => r.kind === kind && r.split === 'train')
        .map((r) => ({
          item: indexOf.get(`train/${r.name}`)!,
          instruction: DESCRIBE_INSTRUCTION[kind],
          answer: compactDescription(r),
        })),
      ...plan.questions.train
        .filter((q) => q.kind === kind)
        .map((q) => ({ item: itemOf('train', q), instruction: q.question, answer: q.answer })),
    ];
    log(`training the ${kind} projector on ${examples.length} examples (LM frozen)`);
    const projector = await trainProjector({
      lm,
      tokenizer,
      mediaToken,
      features: features[kind],
      examples,
      steps: options.projectorSteps ?? 300,
      batchSize: 16,
      lr: options.projectorLr ?? 5e-3,
      seed: options.seed,
    });
    projectorLosses[kind] = projector.losses;
    const test = plan.questions.test.filter((q) => q.kind === kind);
    const got = await answerWithProjector({
      lm,
      tokenizer,
      mediaToken,
      projector,
      features: features[kind],
      questions: test.map((q) => ({ item: itemOf('test', q), instruction: q.question })),
    });
    for (const [i, q] of test.entries()) answers.set(q, got[i]);
  }
  const test = plan.questions.test;
  return {
    accuracy: accuracyByType(
      test,
      test.map((q) => answers.get(q) ?? ''),
    ),
    chance: chanceByType(test),
    lmLosses: pretrained.losses,
    answers: test.map((q) => ({ question: q, got: answers.get(q) ?? '' })),
    projectorLosses,
    seconds: (Date.now() - started) / 1000,
  };
}
