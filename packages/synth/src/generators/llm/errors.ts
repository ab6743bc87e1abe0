// What can go wrong talking to a chat endpoint, as one error class with a reason that maps to a
// per-item outcome. `retryable` says whether another attempt could help.
import type { OutcomeReason } from '@mmit/contracts';

export type LlmFailure = 'timeout' | 'http' | 'invalid_reply' | 'unreachable' | 'budget';

const OUTCOME: Record<LlmFailure, OutcomeReason> = {
  timeout: 'llm_timeout',
  http: 'llm_http_error',
  invalid_reply: 'llm_invalid_reply',
  unreachable: 'llm_unreachable',
  budget: 'llm_budget_exhausted',
};

export class LlmError extends Error {
  constructor(
    readonly failure: LlmFailure,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'LlmError';
  }

  get outcome(): OutcomeReason {
    return OUTCOME[this.failure];
  }
}
