// From a validated spec to the numbers the loop runs with: optimizer groups (projector and LoRA
// with their own lr; biases with or without decay), total steps from epochs or steps, warm-up
// steps from the ratio, and the loop configuration.

import type { TrainingSettings } from '@mmit/contracts';
import type { ParamGroup } from '@mmit/models';
import type { LoopConfig } from './loop.js';

export type OptimizerSpec = TrainingSettings['optimizer'];

/** Groups: projector and LoRA parameters, each split into decayed and undecayed (biases). */
export function paramGroups(names: string[], optimizer: OptimizerSpec): ParamGroup[] {
  const groups: ParamGroup[] = [];
  const add = (name: string, params: string[], lr: number, weightDecay: number) => {
    if (params.length) groups.push({ name, params, lr, weightDecay });
  };
  const noDecay = (n: string) => n.endsWith('.bias') && !optimizer.decayBiases;
  const projector = names.filter((n) => !n.startsWith('lora.'));
  const lora = names.filter((n) => n.startsWith('lora.'));
  add(
    'projector',
    projector.filter((n) => !noDecay(n)),
    optimizer.lr,
    optimizer.weightDecay,
  );
  add('projector.no_decay', projector.filter(noDecay), optimizer.lr, 0);
  add('lora', lora, optimizer.loraLr ?? optimizer.lr, optimizer.weightDecay);
  return groups;
}

export function totalSteps(
  spec: Pick<TrainingSettings, 'epochs' | 'steps' | 'batchSize' | 'gradAccumulation'>,
  trainExamples: number,
): number {
  if (spec.steps !== undefined) return spec.steps;
  const batches = Math.ceil(trainExamples / spec.batchSize);
  return Math.max(1, Math.ceil(batches / spec.gradAccumulation)) * (spec.epochs ?? 1);
}

export function loopConfig(spec: TrainingSettings, trainExamples: number, padTokenId: number): LoopConfig {
  const total = totalSteps(spec, trainExamples);
  return {
    batchSize: spec.batchSize,
    gradAccumulation: spec.gradAccumulation,
    totalSteps: total,
    maxGradNorm: spec.maxGradNorm,
    schedule: {
      type: spec.schedule.type,
      warmupSteps: spec.schedule.warmupSteps ?? Math.ceil(spec.schedule.warmupRatio * total),
      totalSteps: total,
      minLrRatio: spec.schedule.minLrRatio,
    },
    seed: spec.seed,
    evalEvery: spec.evalEvery,
    checkpointEvery: spec.checkpointEvery,
    padTokenId,
    padToMultipleOf: spec.padToMultipleOf,
    groupByLength: spec.groupByLength,
  };
}
