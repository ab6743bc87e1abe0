// How the task's projectors train, in one place: the pipeline run sends these settings to the
// trainer service with each run (POST /v1/runs), and the engine-only stage parses them for its
// in-memory run (projector-stage.ts, through @mmit/train's prepareTrainer). So the two runs differ
// only in where the features come from; every other setting is the trainer service's default.
import type { ProjectorType } from '@mmit/models';
import type { TrainingSettingsInput } from '@mmit/train';

export interface ProjectorTrainingOptions {
  /** LLaVA-1.5's mlp2x_gelu unless set. */
  projector?: ProjectorType;
  lr: number;
  steps: number;
  seed: number;
}

export function projectorTraining(options: ProjectorTrainingOptions): TrainingSettingsInput {
  return {
    projector: { type: options.projector ?? 'mlp2x_gelu' },
    // The LM was pretrained on ChatML turns (lm-corpus.ts): the projector learns in the same format.
    template: 'chat',
    optimizer: { lr: options.lr },
    batchSize: 16,
    // Question kinds differ in length: grouped batches would give each step one kind only.
    groupByLength: false,
    steps: options.steps,
    seed: options.seed,
  };
}
