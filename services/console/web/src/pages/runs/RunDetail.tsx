// One run, live: status and the latest numbers, the actions that apply to its status (cancel while
// it is going, resume once cancelled or failed, export once it has a checkpoint), the spec it was
// started with, and the charts updating as steps stream in.
import { useState } from 'react';
import { getJson, postJson } from '../../api/client.js';
import type { RunSpec, RunState } from '../../api/types.js';
import { ErrorNotice, ProgressBar, StatusBadge } from '../../components/Feedback.js';
import { formatCount, formatDuration, formatNumber, formatTime } from '../../lib/format.js';
import { Link } from '../../lib/router.js';
import { useAsync } from '../../lib/use-async.js';
import { RunCharts } from './RunCharts.js';
import { exportCommand, runActions } from './run-state.js';
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
          {(runActions(s).cancel || runActions(s).resume) && (
            <div className="actions">
              {runActions(s).cancel && (
                <button type="button" onClick={() => act('cancel')} disabled={s.cancelRequested}>
                  Cancel run
                </button>
              )}
              {runActions(s).resume && (
                <button type="button" onClick={() => act('resume')}>
                  Resume run
                </button>
              )}
            </div>
          )}
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
          {runActions(s).exportable && <ExportCommand runId={s.id} />}
          <RunSpecView runId={s.id} />
        </>
      )}
      <RunCharts id="run" steps={live.steps} evals={live.evals} />
    </>
  );
}

function ExportCommand(props: { runId: string }) {
  const command = exportCommand(props.runId);
  const [copied, setCopied] = useState<'yes' | 'failed'>();
  const copy = () =>
    navigator.clipboard.writeText(command).then(
      () => setCopied('yes'),
      () => setCopied('failed'),
    );
  return (
    <section aria-labelledby="export-heading" className="panel">
      <h2 id="export-heading">Export</h2>
      <p>
        A Hugging Face LLaVA folder and a transformers.js ONNX folder, written by the CLI where the bucket is
        reachable (add <code>--format hf</code> or <code>--step N</code> as needed):
      </p>
      <p className="command">
        <code data-testid="export-command">{command}</code>{' '}
        <button type="button" onClick={copy}>
          Copy export command
        </button>{' '}
        <span role="status">
          {copied === 'yes'
            ? 'Copied.'
            : copied === 'failed'
              ? 'Copying failed: select the command instead.'
              : ''}
        </span>
      </p>
    </section>
  );
}

function RunSpecView(props: { runId: string }) {
  const spec = useAsync((signal) => getJson<RunSpec>(`/v1/runs/${props.runId}/spec`, signal), [props.runId]);
  return (
    <section aria-labelledby="spec-heading">
      <h2 id="spec-heading">Spec</h2>
      <ErrorNotice error={spec.error} action="Loading the spec" />
      {spec.value && (
        <details>
          <summary>
            The spec the run was started with, defaults filled in (seed {spec.value.seed}, media token{' '}
            <code>{spec.value.lm.imageToken}</code>)
          </summary>
          <pre data-testid="run-spec" className="spec">
            {JSON.stringify(spec.value, null, 2)}
          </pre>
        </details>
      )}
    </section>
  );
}
