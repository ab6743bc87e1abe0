// One dataset: status and counts, what the filters removed, the diversity report as charts, the
// sample browser, and downloads in the three export formats. A building dataset refreshes itself.
import { useState } from 'react';
import { download, getJson } from '../../api/client.js';
import type { DatasetManifest, SampleKind } from '../../api/types.js';
import { BarList } from '../../components/BarList.js';
import { ErrorNotice, ProgressBar, StatusBadge } from '../../components/Feedback.js';
import { formatCount } from '../../lib/format.js';
import { Link } from '../../lib/router.js';
import { useAsync, useInterval } from '../../lib/use-async.js';
import { DiversityReport } from './DiversityReport.js';
import { SampleBrowser } from './SampleBrowser.js';

const EXPORTS = [
  { format: 'llava', label: 'LLaVA JSON', extension: 'json' },
  { format: 'sharegpt', label: 'ShareGPT JSONL', extension: 'jsonl' },
  { format: 'jsonl', label: 'mmit JSONL', extension: 'jsonl' },
] as const;

export function DatasetDetail(props: { datasetId: string }) {
  const dataset = useAsync(
    (signal) => getJson<DatasetManifest>(`/v1/datasets/${props.datasetId}`, signal),
    [props.datasetId],
  );
  const d = dataset.value;
  useInterval(dataset.reload, 2000, d?.status === 'building');
  const [exportError, setExportError] = useState<unknown>();
  const removed = Object.entries(d?.filters.removed ?? {});
  return (
    <>
      <p className="breadcrumb">
        <Link to="/datasets">Datasets</Link> /
      </p>
      <h1>{d?.name ?? props.datasetId}</h1>
      <ErrorNotice error={dataset.error} action="Loading the dataset" />
      {d && (
        <>
          <p>
            <StatusBadge status={d.status} /> from corpus{' '}
            <Link to={`/corpora/${d.corpusId}`}>{d.corpusId}</Link>, {d.recipe.generator} generator, seed{' '}
            {d.recipe.seed}
          </p>
          {d.status === 'building' && (
            <ProgressBar label="Items processed" progress={{ done: d.itemsDone, total: d.totalItems }} />
          )}
          {d.warnings.map((w) => (
            <p key={w} className="notice warning">
              {w}
            </p>
          ))}
          <dl className="stats">
            <div>
              <dt>Samples</dt>
              <dd data-testid="sample-count">{formatCount(d.counts.samples)}</dd>
            </div>
            <div>
              <dt>Train / validation</dt>
              <dd>
                {formatCount(d.counts.bySplit.train)} / {formatCount(d.counts.bySplit.validation)}
              </dd>
            </div>
            <div>
              <dt>Items with samples</dt>
              <dd>
                {formatCount(d.counts.itemsWithSamples)} / {formatCount(d.counts.items)}
              </dd>
            </div>
            <div>
              <dt>Turns</dt>
              <dd>{formatCount(d.counts.turns)}</dd>
            </div>
          </dl>
          <fieldset className="actions">
            <legend className="visually-hidden">Export</legend>
            {EXPORTS.map((x) => (
              <button
                key={x.format}
                type="button"
                disabled={d.status !== 'ready'}
                onClick={() =>
                  download(`/v1/datasets/${d.id}/export?format=${x.format}`, `${d.id}.${x.extension}`).catch(
                    setExportError,
                  )
                }
              >
                Download {x.label}
              </button>
            ))}
          </fieldset>
          <ErrorNotice error={exportError} action="Export" />
          <div className="chart-grid">
            <BarList
              title="Samples by kind"
              unit="Kind"
              bars={Object.entries(d.counts.byKind).map(([label, value]) => ({ label, value: value ?? 0 }))}
            />
            <BarList
              title="Item outcomes"
              unit="Outcome"
              bars={Object.entries(d.counts.outcomes).map(([label, value]) => ({ label, value }))}
            />
            {removed.length > 0 && (
              <BarList
                title="Samples removed by filter"
                unit="Filter"
                bars={removed.map(([label, v]) => ({
                  label: label.replace(/_/g, ' '),
                  value: v?.samples ?? 0,
                }))}
              />
            )}
          </div>
          {d.diversity ? (
            <DiversityReport report={d.diversity} />
          ) : (
            <p className="muted">The diversity report appears when the dataset is ready.</p>
          )}
          <SampleBrowser datasetId={d.id} kinds={Object.keys(d.recipe.kinds) as SampleKind[]} />
        </>
      )}
    </>
  );
}
