// The three live charts of a run: loss (training, and validation where evaluated), learning
// rate, and throughput.
import { LineChart } from '../../components/LineChart.js';
import type { EvalLine, StepLine } from './use-run-live.js';

/** Colours picked for at least 3:1 contrast on white and to stay apart for common colour blindness. */
export const SERIES_COLORS = ['#1f5fbf', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0f766e'];

export function RunCharts(props: { id: string; steps: StepLine[]; evals: EvalLine[] }) {
  const { steps, evals } = props;
  return (
    <div className="chart-grid">
      <LineChart
        id={`${props.id}-loss`}
        title="Loss"
        xLabel="step"
        yLabel="loss"
        series={[
          {
            name: 'training loss',
            color: SERIES_COLORS[0],
            points: steps.map((s) => ({ x: s.step, y: s.loss })),
          },
          {
            name: 'validation loss',
            color: SERIES_COLORS[1],
            dashed: true,
            points: evals.map((e) => ({ x: e.step, y: e.loss })),
          },
        ]}
      />
      <LineChart
        id={`${props.id}-lr`}
        title="Learning rate"
        xLabel="step"
        yLabel="lr"
        series={[
          {
            name: 'learning rate',
            color: SERIES_COLORS[2],
            points: steps.map((s) => ({ x: s.step, y: s.lr })),
          },
        ]}
      />
      <LineChart
        id={`${props.id}-throughput`}
        title="Throughput (samples/s)"
        xLabel="step"
        yLabel="samples/s"
        series={[
          {
            name: 'samples per second',
            color: SERIES_COLORS[3],
            points: steps.map((s) => ({ x: s.step, y: s.samplesPerSec })),
          },
        ]}
      />
      <LineChart
        id={`${props.id}-tokens`}
        title="Throughput (tokens/s)"
        xLabel="step"
        yLabel="tokens/s"
        series={[
          {
            name: 'tokens per second',
            color: SERIES_COLORS[5],
            points: steps.map((s) => ({ x: s.step, y: s.tokensPerSec })),
          },
        ]}
      />
    </div>
  );
}
