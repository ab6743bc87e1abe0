// A line chart in plain SVG: one or more series over a shared x axis, with ticks, a legend and a
// text summary for screen readers (the last value of each series; role="img" makes the SVG's
// own shapes presentational). It redraws from its props, so
// a live chart is just a parent appending points. No chart library: the console needs lines and
// bars only, and SVG keeps them crisp in screenshots.
import { formatNumber } from '../lib/format.js';
import { niceTicks } from '../lib/ticks.js';

export interface Series {
  name: string;
  /** A CSS colour with at least 3:1 contrast against the chart background. */
  color: string;
  points: { x: number; y: number }[];
  dashed?: boolean;
}

const WIDTH = 640;
const HEIGHT = 240;
const MARGIN = { top: 12, right: 16, bottom: 36, left: 64 };

function extent(values: number[]): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

export function LineChart(props: {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}) {
  const { id, title, xLabel, yLabel, series } = props;
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  const titleId = `${id}-title`;
  const descId = `${id}-desc`;
  const summary = series
    .filter((s) => s.points.length > 0)
    .map((s) => {
      const last = s.points[s.points.length - 1];
      return `${s.name}: ${formatNumber(last.y)} at ${xLabel} ${last.x} (${s.points.length} points)`;
    })
    .join('; ');

  if (all.length === 0) {
    return (
      <figure className="chart" data-points={0}>
        <figcaption>{title}</figcaption>
        <p className="muted">No data yet.</p>
      </figure>
    );
  }
  const [x0, x1] = extent(all.map((p) => p.x));
  const [y0, y1] = extent(all.map((p) => p.y));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + ((x - x0) / (x1 - x0)) * plotW;
  const sy = (y: number) => MARGIN.top + (1 - (y - y0) / (y1 - y0)) * plotH;
  const xTicks = niceTicks(x0, x1, 6).filter((t) => t >= x0 && t <= x1);
  const yTicks = niceTicks(y0, y1, 4).filter((t) => t >= y0 && t <= y1);

  return (
    <figure className="chart" data-points={all.length}>
      <figcaption id={titleId}>{title}</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={titleId} aria-describedby={descId}>
        <title>{title}</title>
        <desc id={descId}>{summary}</desc>
        <g className="grid">
          {yTicks.map((t) => (
            <g key={`y${t}`}>
              <line x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={sy(t)} y2={sy(t)} />
              <text x={MARGIN.left - 6} y={sy(t)} textAnchor="end" dominantBaseline="middle">
                {formatNumber(t)}
              </text>
            </g>
          ))}
          {xTicks.map((t) => (
            <text key={`x${t}`} x={sx(t)} y={HEIGHT - MARGIN.bottom + 16} textAnchor="middle">
              {formatNumber(t)}
            </text>
          ))}
          <line
            className="axis"
            x1={MARGIN.left}
            x2={WIDTH - MARGIN.right}
            y1={HEIGHT - MARGIN.bottom}
            y2={HEIGHT - MARGIN.bottom}
          />
          <text x={MARGIN.left + plotW / 2} y={HEIGHT - 4} textAnchor="middle" className="axis-label">
            {xLabel}
          </text>
          <text
            transform={`translate(14 ${MARGIN.top + plotH / 2}) rotate(-90)`}
            textAnchor="middle"
            className="axis-label"
          >
            {yLabel}
          </text>
        </g>
        {series.map((s) => {
          const points = s.points.filter((p) => Number.isFinite(p.y));
          if (points.length === 0) return null;
          const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`);
          return (
            <g key={s.name}>
              <path
                d={d.join('')}
                fill="none"
                stroke={s.color}
                strokeWidth={2}
                strokeDasharray={s.dashed ? '6 4' : undefined}
              />
              {points.length < 40 &&
                points.map((p) => <circle key={p.x} cx={sx(p.x)} cy={sy(p.y)} r={2.5} fill={s.color} />)}
            </g>
          );
        })}
      </svg>
      {series.length > 1 && (
        <ul className="legend">
          {series.map((s) => (
            <li key={s.name}>
              <span className="swatch" style={{ background: s.color }} aria-hidden="true" />
              {s.name}
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}
