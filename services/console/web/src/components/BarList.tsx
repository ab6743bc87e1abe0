// Horizontal bars as a table (label, bar, value): readable by screen readers as the data it is,
// and a chart to the eye. Used for histograms and top-N counts.
import { formatCount } from '../lib/format.js';

export interface Bar {
  label: string;
  value: number;
}

export function BarList(props: { title: string; bars: Bar[]; unit?: string }) {
  const max = Math.max(1, ...props.bars.map((b) => b.value));
  return (
    <figure className="bars">
      <table>
        <caption>{props.title}</caption>
        <thead>
          <tr>
            <th scope="col">{props.unit ?? 'Bucket'}</th>
            <th scope="col">
              <span className="visually-hidden">Bar</span>
            </th>
            <th scope="col">Count</th>
          </tr>
        </thead>
        <tbody>
          {props.bars.map((b) => (
            <tr key={b.label}>
              <th scope="row">{b.label}</th>
              <td className="bar-cell" aria-hidden="true">
                <span className="bar" style={{ width: `${(b.value / max) * 100}%` }} />
              </td>
              <td className="num">{formatCount(b.value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

/** Histogram buckets as bars: `[a, b)` labels, the last one open-ended. */
export function histogramBars(h: { edges: number[]; counts: number[] }): Bar[] {
  return h.counts.map((count, i) => {
    const lo = h.edges[i];
    const hi = h.edges[i + 1];
    return { label: hi === undefined ? `${lo}+` : hi - lo === 1 ? `${lo}` : `${lo}–${hi - 1}`, value: count };
  });
}
