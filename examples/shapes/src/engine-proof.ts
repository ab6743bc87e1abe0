// The proof with the engine alone: generate the task, write the random frozen encoders and the
// tiny LM as checkpoint folders, pretrain the LM on the training text (then frozen), compute
// features, train one projector per modality, and score the test questions. No services: this is
// the early check that the targets are reachable, and what `mmit bench shapes --engine-only` runs.
import {
  languageModelFromCheckpoint,
  loadTokenizer,
  openCheckpointFolder,
  type ProjectorType,
} from '@mmit/models';
import { accuracyByType, chanceByType, type Scores } from './evaluate.js';
import { audioFeatures, type FeatureMatrix, imageFeatures } from './features.js';
import { type HeldOutSummary, heldOutOf, onlyKinds, planTask, renderItem, type Split } from './generate.js';
import { humanTurn, MEDIA_TOKEN, pretrainExamples, vqaPrompt } from './lm-corpus.js';
import { answerWithProjector, type StageExample, trainProjector } from './projector-stage.js';
import { type HeldOutKind, ITEM_KINDS, type ItemKind, PROOF_DEFAULTS, type TaskQuestion } from './task.js';
import { type LmPretraining, type LmSource, lmPretraining, writeTaskModels } from './task-models.js';

export interface EngineProofOptions extends Partial<LmPretraining> {
  seed: number;
  train: number;
  test: number;
  /** What the pictures' held-out combinations combine (default 'places'). */
  heldOut?: HeldOutKind;
  /** Folder for the checkpoints (lm/, vision/, audio/). */
  workDir: string;
  /** LLaVA-1.5's mlp2x_gelu unless set. */
  projector?: ProjectorType;
  projectorSteps?: number;
  projectorLr?: number;
  /** Break a stage on purpose: 'shuffle-features' gives every item another item's features. */
  sabotage?: 'shuffle-features';
  /** The media kinds to train and ask about (default both). */
  kinds?: readonly ItemKind[];
  log?: (line: string) => void;
}

export interface EngineProofResult {
  /** What the test split holds out. */
  heldOut: HeldOutSummary;
  accuracy: Scores;
  chance: Scores;
  /** The same question types about training items (engine-only runs): the projector's fit. */
  seenAccuracy?: Scores;
  lmLosses: number[];
  /** Where the frozen LM came from (pretrained in this run, or earlier and found by its key). */
  lmFrom: LmSource;
  projectorLosses: Partial<Record<ItemKind, number[]>>;
  /** Every test question with the answer given. */
  answers: { question: TaskQuestion; got: string }[];
  seconds: number;
}

/** Training questions asked per kind for `seenAccuracy` (a sample keeps the run short). */
const SEEN_QUESTIONS_PER_KIND = 200;

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
  const plan = onlyKinds(
    planTask({ seed: options.seed, train: options.train, test: options.test, heldOut: options.heldOut }),
    kinds,
  );
  const models = await writeTaskModels(plan, {
    workDir: options.workDir,
    ...lmPretraining(options),
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
  const seenAnswers = new Map<TaskQuestion, string>();
  const projectorLosses: Partial<Record<ItemKind, number[]>> = {};
  for (const kind of kinds) {
    const mediaToken = MEDIA_TOKEN[kind];
    const kindFeatures = features[kind];
    if (!kindFeatures) throw new Error(`no ${kind} features were computed`);
    const examples: StageExample[] = pretrainExamples(plan)
      .filter((e) => e.item.kind === kind)
      .map((e) => ({
        item: indexOf.get(`train/${e.item.name}`)!,
        prompt: humanTurn(e),
        answer: e.question.answer,
      }));
    log(`training the ${kind} projector on ${examples.length} examples (LM frozen)`);
    const projector = await trainProjector({
      lm,
      tokenizer,
      mediaToken,
      features: kindFeatures,
      examples,
      ...(options.projector ? { projector: options.projector } : {}),
      steps: options.projectorSteps ?? PROOF_DEFAULTS.projectorSteps,
      lr: options.projectorLr ?? PROOF_DEFAULTS.projectorLr,
      seed: options.seed,
      onStep: ({ step, loss }) => {
        if (step % 50 === 0) log(`  ${kind} projector step ${step}: loss ${loss.toFixed(3)}`);
      },
    });
    projectorLosses[kind] = projector.losses;
    const ask = async (split: Split, questions: TaskQuestion[], into: Map<TaskQuestion, string>) => {
      const got = await answerWithProjector({
        lm,
        tokenizer,
        mediaToken,
        projector,
        features: kindFeatures,
        questions: questions.map((q) => ({ item: itemOf(split, q), prompt: vqaPrompt(kind, q.question) })),
      });
      for (const [i, q] of questions.entries()) into.set(q, got[i]);
    };
    await ask(
      'test',
      plan.questions.test.filter((q) => q.kind === kind),
      answers,
    );
    // The same question types about training items: how well the projector fits what it saw,
    // beside how well that carries over to unseen items (a fit near chance is an optimisation
    // problem, not overfitting).
    await ask(
      'train',
      plan.questions.train.filter((q) => q.kind === kind).slice(0, SEEN_QUESTIONS_PER_KIND),
      seenAnswers,
    );
  }
  const seen = [...seenAnswers.keys()];
  const test = plan.questions.test;
  return {
    heldOut: heldOutOf(plan),
    accuracy: accuracyByType(
      test,
      test.map((q) => answers.get(q) ?? ''),
    ),
    chance: chanceByType(test),
    seenAccuracy: accuracyByType(
      seen,
      seen.map((q) => seenAnswers.get(q) ?? ''),
    ),
    lmLosses: models.lmLosses,
    lmFrom: models.lmFrom,
    answers: test.map((q) => ({ question: q, got: answers.get(q) ?? '' })),
    projectorLosses,
    seconds: (Date.now() - started) / 1000,
  };
}
