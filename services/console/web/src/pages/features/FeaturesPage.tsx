// Feature jobs: every extraction job with live progress (server-sent events while it runs), and
// for finished ones how much came from the cache; below, what each encoder key has cached. Jobs
// that had nothing to do (everything already cached) are hidden unless asked for, and marked.
import { useEffect, useState } from 'react';
import { getJson } from '../../api/client.js';
import { followEvents } from '../../api/sse.js';
import type { EncoderStats, FeatureJobResult, JobRecord, Page } from '../../api/types.js';
import { ErrorNotice, ProgressBar, StatusBadge } from '../../components/Feedback.js';
import { formatBytes, formatCount, formatNumber, formatPercent, formatTime } from '../../lib/format.js';
import { useAsync, useTitle } from '../../lib/use-async.js';
import { cacheHitRate, isNoOp } from './hit-rate.js';

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

interface FeatureJobParams {
  corpusId?: string;
  datasetId?: string;
  encoder?: { checkpoint?: string };
  ep?: string;
}

export function FeaturesPage() {
  useTitle('Feature jobs');
  const jobs = useAsync((signal) => getJson<Page<JobRecord>>('/v1/features/jobs?limit=100', signal), []);
  const caches = useAsync((signal) => getJson<{ items: EncoderStats[] }>('/v1/features', signal), []);
  const [showNoOps, setShowNoOps] = useState(false);
  const newestFirst = [...(jobs.value?.items ?? [])].reverse();
  const noOps = newestFirst.filter(isNoOpJob).length;
  const shown = showNoOps ? newestFirst : newestFirst.filter((job) => !isNoOpJob(job));
  return (
    <>
      <h1>Feature jobs</h1>
      <p>
        Encoder features are computed once per media item and encoder key and cached in the bucket; runs and
        the CLI start these jobs.
      </p>
      <section aria-labelledby="feature-jobs-heading">
        <h2 id="feature-jobs-heading">Jobs</h2>
        <button type="button" onClick={jobs.reload}>
          Refresh
        </button>
        <ErrorNotice error={jobs.error} action="Listing feature jobs" />
        {jobs.value && newestFirst.length === 0 && <p>No feature jobs yet.</p>}
        {noOps > 0 && (
          <p className="filters">
            <label>
              <input type="checkbox" checked={showNoOps} onChange={(e) => setShowNoOps(e.target.checked)} />{' '}
              Show the {noOps === 1 ? 'job' : `${noOps} jobs`} with nothing to do (everything already cached)
            </label>
          </p>
        )}
        <ul className="cards">
          {shown.map((job) => (
            <FeatureJobCard key={job.id} initial={job} onFinished={caches.reload} />
          ))}
        </ul>
      </section>
      <section aria-labelledby="caches-heading">
        <h2 id="caches-heading">Cached features by encoder key</h2>
        <ErrorNotice error={caches.error} action="Listing caches" />
        {caches.value && caches.value.items.length === 0 && <p>Nothing cached yet.</p>}
        {caches.value && caches.value.items.length > 0 && (
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Encoder key</th>
                <th scope="col">Kind</th>
                <th scope="col">Items</th>
                <th scope="col">Shards</th>
                <th scope="col">Size</th>
              </tr>
            </thead>
            <tbody>
              {caches.value.items.map((c) => (
                <tr key={c.encoderKey}>
                  <th scope="row">
                    <code>{c.encoderKey}</code>
                  </th>
                  <td>{c.identity ? `${c.identity.kind} (${c.identity.modality})` : '–'}</td>
                  <td className="num">{formatCount(c.items)}</td>
                  <td className="num">{formatCount(c.shards)}</td>
                  <td className="num">{formatBytes(c.bytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function resultOf(job: JobRecord): FeatureJobResult | undefined {
  return job.status === 'succeeded' ? (job.result as FeatureJobResult | undefined) : undefined;
}

function isNoOpJob(job: JobRecord): boolean {
  const result = resultOf(job);
  return result !== undefined && isNoOp(result);
}

function FeatureJobCard(props: { initial: JobRecord; onFinished: () => void }) {
  const [job, setJob] = useState(props.initial);
  const running = !TERMINAL.includes(props.initial.status);
  const { onFinished } = props;
  useEffect(() => {
    if (!running) return;
    const controller = new AbortController();
    followEvents(
      `/v1/features/jobs/${props.initial.id}/events`,
      (event, data) => {
        if (event !== 'job') return;
        const record = data as JobRecord;
        setJob(record);
        if (TERMINAL.includes(record.status)) onFinished();
      },
      controller.signal,
    ).catch(() => undefined);
    return () => controller.abort();
  }, [props.initial.id, running, onFinished]);

  const params = (job.params ?? {}) as FeatureJobParams;
  const result = resultOf(job);
  const hitRate = result && cacheHitRate(result);
  const noOp = result !== undefined && isNoOp(result);
  return (
    <li className={noOp ? 'card noop' : 'card'} data-testid="feature-job">
      <p className="item-meta">
        <StatusBadge status={job.status} />{' '}
        {noOp && (
          <span className="chip noop" data-testid="no-op">
            no-op
          </span>
        )}{' '}
        <code>{job.id}</code> <span className="muted">{formatTime(job.createdAt)}</span>
      </p>
      <p>
        {params.corpusId ? `corpus ${params.corpusId}` : `dataset ${params.datasetId}`} ·{' '}
        {params.encoder?.checkpoint ?? 'encoder'}
      </p>
      {!result && <ProgressBar label={`Progress of ${job.id}`} progress={job.progress} />}
      {noOp && (
        <p className="muted">
          Nothing to compute:{' '}
          {result.hits === 0
            ? `none of its ${result.items} items had ${result.modality} media to encode`
            : `${result.hits === 1 ? 'its one medium was' : `all ${result.hits} media were`} already cached`}{' '}
          (cache hit rate{' '}
          <span data-testid="hit-rate">{hitRate === undefined ? '–' : formatPercent(hitRate)}</span>).
        </p>
      )}
      {result && !noOp && (
        <dl className="stats">
          <div>
            <dt>Cache hit rate</dt>
            <dd data-testid="hit-rate">{hitRate === undefined ? '–' : formatPercent(hitRate)}</dd>
          </div>
          <div>
            <dt>Hits / computed / failed</dt>
            <dd>
              {result.hits} / {result.computed} / {result.failed}
            </dd>
          </div>
          <div>
            <dt>Media</dt>
            <dd>
              {result.media} of {result.items} items ({result.skipped} skipped)
            </dd>
          </div>
          <div>
            <dt>Provider</dt>
            <dd>
              {result.ep ?? 'none needed'}
              {result.fallbackReason && ` (fell back: ${result.fallbackReason})`}
            </dd>
          </div>
          <div>
            <dt>Throughput</dt>
            <dd>{formatNumber(result.itemsPerSecond)} items/s</dd>
          </div>
        </dl>
      )}
      {job.error && (
        <p className="notice error" role="alert">
          {job.error.detail}
        </p>
      )}
      {result && result.failures.length > 0 && (
        <details>
          <summary>Failures ({result.failed})</summary>
          <ul>
            {result.failures.map((f) => (
              <li key={f.sha256}>
                {f.itemId ?? f.sha256}: {f.detail}
              </li>
            ))}
          </ul>
        </details>
      )}
    </li>
  );
}
