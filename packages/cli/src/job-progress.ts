// Following a service job to its end from the terminal: the job's server-sent events (`event: job`,
// each carrying the whole record) drive a progress bar on stderr, and the final record is read back
// from the service, because the stream also ends when the connection drops, not only when the job
// does. Jobs are the ingest/synth/features kind (JobRecord); training runs have their own events.
import type { JobRecord } from '@mmit/contracts';
import { SingleBar } from 'cli-progress';
import type { ApiClient } from './http-client.js';

/** A bar on stderr; when stderr is not a terminal it prints a plain line every 2 s instead of redrawing. */
function progressBar(format: string): SingleBar {
  return new SingleBar({ format, hideCursor: true, noTTYOutput: true, notTTYSchedule: 2000 });
}

/** A progress bar fed from an event stream; `show: false` draws nothing (a caller with its own output, a test). */
export interface StreamBar {
  /** `total` may be unknown at first (an archive still being listed): the bar starts at 0 and takes it later. */
  update(value: number, total: number | null, payload: Record<string, string>): void;
  /** Ends the bar if it was drawn. */
  stop(): void;
}

export function streamBar(format: string, show = true): StreamBar {
  const bar = show ? progressBar(format) : undefined;
  let started = false;
  return {
    update(value, total, payload) {
      if (!bar) return;
      if (!started) {
        bar.start(total ?? 0, value, payload);
        started = true;
      }
      if (total !== null) bar.setTotal(total);
      bar.update(value, payload);
    },
    stop() {
      if (started) bar?.stop();
    },
  };
}

/**
 * Follows the job whose record lives at `jobPath` (its events at `${jobPath}/events`) with a bar
 * drawn from `format`, which may use cli-progress's tokens plus {rate} (items/s) and {message}
 * (the job's progress message). Returns the job's record once the stream closes; without a bar
 * the stream is still followed to its end.
 */
export async function followJob(
  client: ApiClient,
  jobPath: string,
  format: string,
  options: { bar?: boolean } = {},
): Promise<JobRecord> {
  const bar = streamBar(format, options.bar !== false);
  for await (const { event, data } of client.events(`${jobPath}/events`)) {
    if (event !== 'job') continue;
    const { done, total, rate, message } = (data as JobRecord).progress;
    bar.update(done, total, { rate: rate.toFixed(1), message: message ?? '' });
  }
  bar.stop();
  return client.json<JobRecord>(jobPath);
}
