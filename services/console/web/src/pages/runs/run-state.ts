// Which of two run states to show, and what a run in a state offers.
import type { RunState, RunStatus } from '../../api/types.js';

/** The contracts' TERMINAL_RUN_STATUSES (a value of a package the bundle cannot hold). */
const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

/**
 * The later of two states. A cancel answer is the state at the moment of cancelling; the stream
 * may already have delivered the `cancelled` state that followed, which must not be undone.
 */
export function newerState(current: RunState | undefined, next: RunState): RunState {
  return current && Date.parse(current.updatedAt) > Date.parse(next.updatedAt) ? current : next;
}

/** Which actions a run in this state offers. */
export function runActions(s: Pick<RunState, 'status' | 'lastCheckpoint'>): {
  cancel: boolean;
  resume: boolean;
  exportable: boolean;
} {
  return {
    cancel: !TERMINAL_RUN_STATUSES.includes(s.status),
    resume: s.status === 'cancelled' || s.status === 'failed',
    // `mmit export` writes the latest checkpoint; a run without one has nothing to export.
    exportable: TERMINAL_RUN_STATUSES.includes(s.status) && s.lastCheckpoint !== null,
  };
}

/**
 * The command that exports a run. There is no export route on the services: an export is a
 * folder of model weights (the whole LM, gigabytes) written to disk by `mmit export`, which
 * reads the run from the bucket itself, so the console hands over the command rather than
 * streaming weights through the browser.
 */
export function exportCommand(runId: string): string {
  return `mmit export ${runId} --out exports/${runId}`;
}
