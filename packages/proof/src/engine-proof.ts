// The proof with the engine alone: generate the task, write the random frozen encoders and the
// tiny LM as checkpoint folders, pretrain the LM on the training text (then frozen), compute
// features, train one projector per modality, and score the test questions. No services: this is
// the early check that the targets are reachable, and what `mmit bench shapes --engine-only` runs.
import { languageModelFromCheckpoint, loadTokenizer, openCheckpointFolder } from '@mmit/models';
import { accuracyByType, chanceByType, type Scores } from './evaluate.js';
import { audioFeatures, type FeatureMatrix, imageFeatures } from './features.js';
import { onlyKinds, planTask, renderItem, type Split } from './generate.js';
import { MEDIA_TOKEN, pretrainExamples, vqaPrompt } from './lm-corpus.js';
import { answerWithProjector, type StageExample, trainProjector } from './projector-stage.js';
import { ITEM_KINDS, type ItemKind, PROOF_DEFAULTS, type TaskQuestion } from './task.js';
import { type LmPretraining, lmPretraining, writeTaskModels } from './task-models.js';

export interface EngineProofOptions extends Partial<LmPretraining> {
  seed: number;
  train: number;
  test: number;
  /** Folder for the checkpoints (lm/, vision/, audio/). */
  workDir: string;
  projectorSteps?: number;
  projectorLr?: number;
  /** Break a stage on purpose: 'shuffle-features' gives every item another item's features. */
  sabotage?: 'shuffle-features';
  /** The media kinds to train and ask about (default both). */
  kinds?: readonly ItemKind[];
  log?: (line: string) => void;
}

export interface EngineProofResult {
  accuracy: Scores;
  chance: Scores;
  lmLosses: number[];
  projectorLosses: Partial<Record<ItemKind, number[]>>;
  /** Every test question with the answer given. */
  answers: { question: TaskQuestion; got: string }[];
  seconds: number;
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
  const kinds = options.kinds ?? ITEM_KINDS;
  const plan = onlyKinds(planTask({ seed: options.seed, train: options.train, test: options.test }), kinds);
  const models = await writeTaskModels(plan, {
    workDir: options.workDir,
    ...lmPretraining(options),
    kinds,
    log,
  });
  const lm = languageModelFromCheckpoint(openCheckpointFolder(models.lm));
  const tokenizer = loadTokenizer(models.lm);
  const rendered = await Promise.all(plan.items.map((item, i) => renderItem(item, i)));
  const indexOf = new Map<string, number>();
  const byKind = (kind: ItemKind) => rendered.filter((r) => r.kind === kind);
  const features: Partial<Record<ItemKind, FeatureMatrix>> = {};
  for (const kind of kinds) {
    const media = byKind(kind).map((r) => r.bytes);
    const computed =
      kind === 'image' ? await imageFeatures(models.vision, media) : await audioFeatures(models.audio, media);
    features[kind] = options.sabotage === 'shuffle-features' ? shuffled(computed) : computed;
    for (const [i, r] of byKind(kind).entries()) indexOf.set(`${r.split}/${r.name}`, i);
  }
  const itemOf = (split: Split, q: TaskQuestion) => {
    const i = indexOf.get(`${split}/${q.file}`);
    if (i === undefined) throw new Error(`no features for ${split}/${q.file}`);
    return i;
  };

  const answers = new Map<TaskQuestion, string>();
  const projectorLosses: Partial<Record<ItemKind, number[]>> = {};
  for (const kind of kinds) {
    const mediaToken = MEDIA_TOKEN[kind];
    const kindFeatures = features[kind];
    if (!kindFeatures) throw new Error(`no ${kind} features were computed`);
    const examples: StageExample[] = pretrainExamples(plan)
      .filter((e) => e.item.kind === kind)
      .map((e) => ({
        item: indexOf.get(`train/${e.item.name}`)!,
        prompt: vqaPrompt(kind, e.question.question),
        answer: e.question.answer,
      }));
    log(`training the ${kind} projector on ${examples.length} examples (LM frozen)`);
    const projector = await trainProjector({
      lm,
      tokenizer,
      mediaToken,
      features: kindFeatures,
      examples,
      steps: options.projectorSteps ?? PROOF_DEFAULTS.projectorSteps,
      batchSize: 16,
      lr: options.projectorLr ?? PROOF_DEFAULTS.projectorLr,
      seed: options.seed,
      onStep: (step, loss) => {
        if (step % 50 === 0) log(`  ${kind} projector step ${step}: loss ${loss.toFixed(3)}`);
      },
    });
    projectorLosses[kind] = projector.losses;
    const test = plan.questions.test.filter((q) => q.kind === kind);
    const got = await answerWithProjector({
      lm,
      tokenizer,
      mediaToken,
      projector,
      features: kindFeatures,
      questions: test.map((q) => ({ item: itemOf('test', q), prompt: vqaPrompt(kind, q.question) })),
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
    lmLosses: models.lmLosses,
    answers: test.map((q) => ({ question: q, got: answers.get(q) ?? '' })),
    projectorLosses,
    seconds: (Date.now() - started) / 1000,
  };
}
