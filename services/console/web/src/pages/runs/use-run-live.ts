// A run as it happens: the stored state and metrics first, then the trainer's event stream
// (`state`, `step`, `eval`) appended live. Steps are keyed by step number, so a line read from
// metrics.jsonl and the same step arriving over SSE count once. After a resume the stream is
// followed again (`follow()`).
import { useCallback, useEffect, useState } from 'react';
import { getJson } from '../../api/client.js';
import { followEvents } from '../../api/sse.js';
import type { MetricsLine, RunState } from '../../api/types.js';
import { newerState } from './run-state.js';

export type StepLine = Extract<MetricsLine, { type: 'step' }>;
export type EvalLine = Extract<MetricsLine, { type: 'eval' }>;

export interface RunLive {
  state: RunState | undefined;
  steps: StepLine[];
  evals: EvalLine[];
  streaming: boolean;
  error: unknown;
  /** Applies a state from elsewhere (a cancel or resume answer) unless the stream already has a newer one. */
  applyState(state: RunState): void;
  follow(): void;
}

function upsert<T extends { step: number }>(list: T[], line: T): T[] {
  const i = list.findIndex((l) => l.step === line.step);
  if (i >= 0) return [...list.slice(0, i), line, ...list.slice(i + 1)];
  const out = [...list, line];
  // Lines normally arrive in order; sort only when one did not.
  return out.length > 1 && out[out.length - 2].step > line.step ? out.sort((a, b) => a.step - b.step) : out;
}

export function useRunLive(runId: string): RunLive {
  const [state, setState] = useState<RunState>();
  const [steps, setSteps] = useState<StepLine[]>([]);
  const [evals, setEvals] = useState<EvalLine[]>([]);
  const [streaming, setStreaming] = useState(false);
  const [error, setError] = useState<unknown>();
  const [generation, setGeneration] = useState(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `generation` restarts the stream on purpose
  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    (async () => {
      const [current, metrics] = await Promise.all([
        getJson<RunState>(`/v1/runs/${runId}`, signal),
        getJson<{ items: MetricsLine[] }>(`/v1/runs/${runId}/metrics`, signal),
      ]);
      setState(current);
      setSteps(metrics.items.filter((l): l is StepLine => l.type === 'step'));
      setEvals(metrics.items.filter((l): l is EvalLine => l.type === 'eval'));
      setStreaming(true);
      await followEvents(
        `/v1/runs/${runId}/events`,
        (event, data) => {
          const time = new Date().toISOString();
          if (event === 'state') setState((s) => newerState(s, data as RunState));
          else if (event === 'step')
            setSteps((s) => upsert(s, { ...(data as StepLine), type: 'step', time }));
          else if (event === 'eval')
            setEvals((s) => upsert(s, { ...(data as EvalLine), type: 'eval', time }));
        },
        signal,
      );
    })()
      .catch((err) => {
        if (!signal.aborted) setError(err);
      })
      .finally(() => {
        if (!signal.aborted) setStreaming(false);
      });
    return () => controller.abort();
  }, [runId, generation]);

  return {
    state,
    steps,
    evals,
    streaming,
    error,
    applyState: useCallback((next: RunState) => setState((s) => newerState(s, next)), []),
    follow: useCallback(() => setGeneration((g) => g + 1), []),
  };
}
