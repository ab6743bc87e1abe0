// Following a service job to its end from the terminal: the job's server-sent events (`event: job`,
// each carrying the whole record) drive a progress line on stderr (progress.ts), and the final
// record is read back from the service, because the stream also ends when the connection drops,
// not only when the job does. Jobs are the ingest/synth/features kind (JobRecord); training runs
// have their own events (train.ts).
import type { JobRecord } from '@mmit/contracts';
import type { ApiClient } from './http-client.js';
import { Progress, type ProgressUpdate } from './progress.js';

/** What a job's progress line says: `importing`, counted in `items` (the job's own unit when it names one). */
export interface JobLabel {
  label: string;
  unit?: string;
}

/** A progress line fed from an event stream; `show: false` draws nothing (a caller with its own output, a test). */
export interface StreamBar {
  update(update: ProgressUpdate): void;
  /** Ends the line if it was drawn. */
  stop(): void;
}

export function streamBar(label: JobLabel, show = true): StreamBar {
  let progress: Progress | undefined;
  return {
    update(update) {
      if (!show) return;
      progress ??= new Progress({ label: label.label, unit: label.unit ?? 'items' });
      progress.update(update);
    },
    stop() {
      progress?.stop();
    },
  };
}

/**
 * Follows the job whose record lives at `jobPath` (its events at `${jobPath}/events`) with a
 * progress line. Returns the job's record once the stream closes; without a bar the stream is
 * still followed to its end.
 */
export async function followJob(
  client: ApiClient,
  jobPath: string,
  label: JobLabel,
  options: { bar?: boolean } = {},
): Promise<JobRecord> {
  let bar: StreamBar | undefined;
  for await (const { event, data } of client.events(`${jobPath}/events`)) {
    if (event !== 'job') continue;
    const { done, total, rate, etaSec, unit, message } = (data as JobRecord).progress;
    bar ??= streamBar({ label: label.label, unit: label.unit ?? unit }, options.bar !== false);
    bar.update({ done, total, rate, etaSec, ...(message ? { detail: message } : {}) });
  }
  bar?.stop();
  return client.json<JobRecord>(jobPath);
}
