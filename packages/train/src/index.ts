// @mmit/train: projection-layer SFT (LLaVA stage 1, projector-only SFT, optional LoRA) as a
// library: run spec, templates, batching, optimizer, the run loop, checkpoints in the bucket,
// and the run orchestration the trainer service calls.

// The run spec, state and metrics schemas live in @mmit/contracts; re-exported for the library's users.
export {
  EvalMetricsSchema,
  type LoraTarget,
  loraTargets,
  type MetricsLine,
  MetricsLineSchema,
  type ProjectorType,
  projectorTypes,
  RUN_STATUSES,
  type RunCoverage,
  RunCoverageSchema,
  type RunDataCounts,
  RunDataCountsSchema,
  RunEncoderSchema,
  type RunSpec,
  type RunSpecInput,
  RunSpecSchema,
  type RunState,
  RunStateSchema,
  type RunStatus,
  RunStatusSchema,
  StepMetricsSchema,
  TEMPLATES,
  TERMINAL_RUN_STATUSES,
  type TrainingSettings,
  type TrainingSettingsInput,
  TrainingSettingsSchema,
} from '@mmit/contracts';
export * from './batching.js';
export * from './checkpoint.js';
export * from './coverage.js';
export * from './dataset.js';
export * from './examples.js';
export * from './features.js';
export * from './features-client.js';
export * from './loop.js';
export * from './plan.js';
export * from './preflight.js';
export * from './prepare.js';
export * from './random.js';
export * from './recorder.js';
export * from './run.js';
export * from './schedule.js';
export { initialRunState } from './state.js';
export * from './template.js';
export * from './tfevents.js';
export * from './tracking.js';
export * from './trained-run.js';
export * from './wandb.js';
export * from './weight-names.js';
