// Several runs' losses on one chart: each run's stored metrics, read once (compare finished or
// running runs; a running one is as of the moment it was opened).
import { getJson } from '../../api/client.js';
import type { MetricsLine, RunState } from '../../api/types.js';
import { ErrorNotice } from '../../components/Feedback.js';
import { LineChart, type Series } from '../../components/LineChart.js';
import { useAsync } from '../../lib/use-async.js';
import { SERIES_COLORS } from './RunCharts.js';

export function CompareRuns(props: { runs: RunState[] }) {
  const ids = props.runs.map((r) => r.id);
  const metrics = useAsync(
    (signal) =>
      Promise.all(ids.map((id) => getJson<{ items: MetricsLine[] }>(`/v1/runs/${id}/metrics`, signal))),
    [ids.join(',')],
  );
  const series = (pick: 'loss' | 'lr'): Series[] =>
    props.runs.map((run, i) => ({
      name: run.name ?? run.id,
      color: SERIES_COLORS[i % SERIES_COLORS.length],
      points: (metrics.value?.[i]?.items ?? [])
        .filter((l) => l.type === 'step')
        .map((l) => ({ x: l.step, y: l[pick] })),
    }));
  return (
    <section aria-labelledby="compare-heading">
      <h2 id="compare-heading">Comparing {props.runs.length} runs</h2>
      <ErrorNotice error={metrics.error} action="Loading metrics" />
      <div className="chart-grid">
        <LineChart
          id="compare-loss"
          title="Training loss"
          xLabel="step"
          yLabel="loss"
          series={series('loss')}
        />
        <LineChart id="compare-lr" title="Learning rate" xLabel="step" yLabel="lr" series={series('lr')} />
      </div>
    </section>
  );
}
