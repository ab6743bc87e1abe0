// One run, live: status and the latest numbers, cancel and resume, and the charts updating as
// steps stream in.
import { useState } from 'react';
import { postJson } from '../../api/client.js';
import type { RunState } from '../../api/types.js';
import { ErrorNotice, ProgressBar, StatusBadge } from '../../components/Feedback.js';
import { formatCount, formatDuration, formatNumber, formatTime } from '../../lib/format.js';
import { Link } from '../../lib/router.js';
import { RunCharts } from './RunCharts.js';
import { useRunLive } from './use-run-live.js';

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

export function RunDetail(props: { runId: string }) {
  const live = useRunLive(props.runId);
  const [actionError, setActionError] = useState<unknown>();
  const s = live.state;
  const act = async (action: 'cancel' | 'resume') => {
    setActionError(undefined);
    try {
      live.applyState(await postJson<RunState>(`/v1/runs/${props.runId}/${action}`));
      if (action === 'resume') live.follow();
    } catch (err) {
      setActionError(err);
    }
  };
  const latest = s?.latest;
  return (
    <>
      <p className="breadcrumb">
        <Link to="/runs">Runs</Link> /
      </p>
      <h1>{s?.name ?? props.runId}</h1>
      <ErrorNotice error={live.error} action="Following the run" />
      {s && (
        <>
          <p aria-live="polite">
            <StatusBadge status={s.status} /> {s.message && <span>{s.message}</span>}{' '}
            {live.streaming && <span className="muted">(live)</span>}
          </p>
          {s.totalSteps !== null && (
            <ProgressBar
              label="Training steps"
              progress={{ done: s.step, total: s.totalSteps, unit: 'steps', etaSec: latest?.etaSec ?? null }}
            />
          )}
          {s.featuresJob && s.status === 'waiting_for_features' && (
            <ProgressBar
              label="Features job"
              progress={{
                done: s.featuresJob.done,
                total: s.featuresJob.total,
                message: `features job ${s.featuresJob.id}`,
              }}
            />
          )}
          <div className="actions">
            <button
              type="button"
              onClick={() => act('cancel')}
              disabled={TERMINAL.includes(s.status) || s.cancelRequested}
            >
              Cancel run
            </button>
            <button
              type="button"
              onClick={() => act('resume')}
              disabled={!['cancelled', 'failed'].includes(s.status)}
            >
              Resume run
            </button>
          </div>
          <ErrorNotice error={actionError} action="The request" />
          {s.error && (
            <p className="notice error" role="alert">
              {s.error.detail}
            </p>
          )}
          <dl className="stats">
            <div>
              <dt>Step</dt>
              <dd data-testid="run-step">
                {formatCount(s.step)}
                {s.totalSteps !== null && ` / ${formatCount(s.totalSteps)}`}
              </dd>
            </div>
            <div>
              <dt>Loss</dt>
              <dd>{latest ? formatNumber(latest.loss, 4) : '–'}</dd>
            </div>
            <div>
              <dt>Learning rate</dt>
              <dd>{latest ? formatNumber(latest.lr) : '–'}</dd>
            </div>
            <div>
              <dt>Samples/s</dt>
              <dd>{latest ? formatNumber(latest.samplesPerSec) : '–'}</dd>
            </div>
            <div>
              <dt>Validation loss</dt>
              <dd>{s.lastEval ? `${formatNumber(s.lastEval.loss, 4)} (step ${s.lastEval.step})` : '–'}</dd>
            </div>
            <div>
              <dt>ETA</dt>
              <dd>{TERMINAL.includes(s.status) ? '–' : formatDuration(latest?.etaSec)}</dd>
            </div>
            <div>
              <dt>Checkpoint</dt>
              <dd>{s.lastCheckpoint ? `step ${s.lastCheckpoint.step}` : 'none yet'}</dd>
            </div>
            <div>
              <dt>Attempt</dt>
              <dd>{s.attempt}</dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>{s.startedAt ? formatTime(s.startedAt) : '–'}</dd>
            </div>
          </dl>
          {s.data && (
            <p className="muted">
              Data: {s.data.train} training and {s.data.validation} validation samples, {s.data.truncated}{' '}
              truncated, {s.data.dropped} dropped
              {Object.keys(s.data.dropReasons).length > 0 &&
                ` (${Object.entries(s.data.dropReasons)
                  .map(([r, n]) => `${r}: ${n}`)
                  .join(', ')})`}
              .
            </p>
          )}
          {s.status === 'succeeded' && (
            <p>
              Served as model <code>{s.id}</code>:{' '}
              <Link to={`/playground?model=${s.id}`}>try it in the playground</Link>.
            </p>
          )}
        </>
      )}
      <RunCharts id="run" steps={live.steps} evals={live.evals} />
    </>
  );
}
