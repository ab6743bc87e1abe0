// From a run's training settings and its parts (the frozen LM, a feature source, tokenized
// examples) to a ready Trainer: the projector (and LoRA) initialised from the seed, the step graph
// and its session, the optimizer's parameter groups and the loop configuration (total steps,
// warm-up, clipping, data order). The trainer service (run.ts, features from the bucket) and runs
// over features already in memory (MemoryFeatures; the shapes example's engine-only stage) both
// start here, so one set of settings trains the same way wherever its features come from.
import type { TrainingSettings } from '@mmit/contracts';
import {
  buildLlavaStepGraph,
  GroupedAdamW,
  initLora,
  initProjector,
  type LanguageModel,
  type LlavaStepGraph,
  type ProjectorSpec,
  type Tokenizer,
} from '@mmit/models';
import { createSession, type Session } from '@mmit/tensor';
import type { TrainExample } from './batching.js';
import type { FeatureSource } from './features.js';
import { type LoopConfig, Trainer, type TrainerCheckpoint } from './loop.js';
import { loopConfig, paramGroups } from './plan.js';

export interface TrainerParts {
  /** The frozen LM the projector writes into. */
  lm: LanguageModel;
  /** The token whose positions take the feature rows. */
  imageTokenId: number;
  /** Width of one feature row: the projector's input. */
  featureWidth: number;
  padTokenId: number;
  features: FeatureSource;
  train: TrainExample[];
  validation: TrainExample[];
  /** A checkpoint to continue from (parameters, optimizer moments, data position). */
  resume?: TrainerCheckpoint;
}

export interface PreparedTrainer {
  trainer: Trainer;
  projector: ProjectorSpec;
  step: LlavaStepGraph;
  /** The step graph's session; the caller releases it when the run is over. */
  session: Session;
  config: LoopConfig;
  /** Each trainable parameter's dims (what a checkpoint stores beside the data). */
  dims: Record<string, number[]>;
}

/**
 * The id batches are padded with: the tokenizer's pad token, else the LM config's, else EOS.
 * Padding is masked and unlabelled, so the choice never changes a loss; one rule keeps the
 * batches of every run alike.
 */
export function padTokenIdOf(
  tokenizer: Pick<Tokenizer, 'padTokenId' | 'eosTokenId'>,
  lm: LanguageModel,
): number {
  return tokenizer.padTokenId ?? lm.config.padTokenId ?? tokenizer.eosTokenId ?? 0;
}

export async function prepareTrainer(
  settings: TrainingSettings,
  parts: TrainerParts,
): Promise<PreparedTrainer> {
  const { lm, imageTokenId } = parts;
  const projector: ProjectorSpec = {
    type: settings.projector.type,
    inputDim: parts.featureWidth,
    outputDim: lm.config.hiddenSize,
  };
  const step = buildLlavaStepGraph(lm, {
    projector,
    imageTokenId,
    head: 'labelled',
    ...(settings.lora ? { lora: settings.lora } : {}),
  });
  const session = await createSession(step.graph, {
    ep: settings.ep,
    ...(settings.threads ? { threads: settings.threads } : {}),
  });
  const initial = {
    ...initProjector(projector, settings.seed),
    ...(settings.lora ? initLora(lm, settings.lora, settings.seed + 1) : {}),
  };
  const dims = Object.fromEntries(step.graph.params.map((p) => [p.name, p.shape as number[]]));
  const optimizer = new GroupedAdamW(initial, paramGroups(step.params, settings.optimizer), {
    betas: settings.optimizer.betas,
    eps: settings.optimizer.eps,
  });
  const config = loopConfig(settings, parts.train.length, parts.padTokenId);
  const trainer = new Trainer({
    step,
    session,
    features: parts.features,
    train: parts.train,
    validation: parts.validation,
    optimizer,
    config,
    resume: parts.resume,
  });
  return { trainer, projector, step, session, config, dims };
}
