// Error, progress and status display shared by the pages.
import { ApiError } from '../api/errors.js';
import { formatDuration, formatNumber } from '../lib/format.js';

export function ErrorNotice(props: { error: unknown; action?: string }) {
  if (!props.error) return null;
  const err = props.error;
  const message = err instanceof Error ? err.message : String(err);
  return (
    <div role="alert" className="notice error">
      <p>
        <strong>{props.action ? `${props.action} failed: ` : 'Error: '}</strong>
        {message}
      </p>
      {err instanceof ApiError && err.unauthorized && (
        <p>The services need an API key: enter it under “API key” at the top of the page.</p>
      )}
      {err instanceof ApiError && err.issues.length > 0 && (
        <ul>
          {err.issues.map((issue) => (
            <li key={`${issue.path}:${issue.message}`}>
              <code>{issue.path || '(body)'}</code>: {issue.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function StatusBadge(props: { status: string }) {
  return <span className={`badge status-${props.status}`}>{props.status.replace(/_/g, ' ')}</span>;
}

export interface ProgressInfo {
  done: number;
  total: number | null;
  rate?: number;
  etaSec?: number | null;
  unit?: string;
  message?: string;
}

export function ProgressBar(props: { label: string; progress: ProgressInfo }) {
  const { done, total, rate, etaSec, unit = 'items', message } = props.progress;
  const parts = [
    total === null ? `${done} ${unit}` : `${done} / ${total} ${unit}`,
    rate ? `${formatNumber(rate)} ${unit}/s` : undefined,
    etaSec !== undefined && etaSec !== null && total !== null && done < total
      ? `ETA ${formatDuration(etaSec)}`
      : undefined,
    message,
  ].filter(Boolean);
  return (
    <div className="progress">
      {/* Without a max the bar is indeterminate, which is right while the total is unknown. */}
      <progress aria-label={props.label} value={total === null ? undefined : done} max={total ?? undefined} />
      <span className="progress-text">{parts.join(' · ')}</span>
    </div>
  );
}
