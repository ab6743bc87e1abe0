// Which of two run states to show.
import type { RunState } from '../../api/types.js';

/**
 * The later of two states. A cancel answer is the state at the moment of cancelling; the stream
 * may already have delivered the `cancelled` state that followed, which must not be undone.
 */
export function newerState(current: RunState | undefined, next: RunState): RunState {
  return current && Date.parse(current.updatedAt) > Date.parse(next.updatedAt) ? current : next;
}
