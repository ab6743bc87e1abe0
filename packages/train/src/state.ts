// A run's first state (queued, nothing done yet). The state's schema, with the spec's and the
// metrics lines', lives in @mmit/contracts (training.ts).
import type { RunState } from '@mmit/contracts';

export function initialRunState(id: string, name: string | undefined, at: Date): RunState {
  const time = at.toISOString();
  return {
    id,
    ...(name ? { name } : {}),
    status: 'queued',
    createdAt: time,
    updatedAt: time,
    attempt: 1,
    step: 0,
    totalSteps: null,
    epoch: 0,
    samplesSeen: 0,
    tokensSeen: 0,
    latest: null,
    lastEval: null,
    lastCheckpoint: null,
    encoderKey: null,
    featuresJob: null,
    data: null,
    coverage: null,
    cancelRequested: false,
  };
}
