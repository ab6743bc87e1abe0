// Following a service job to its end from the terminal: the job's server-sent events (`event: job`,
// each carrying the whole record) drive a progress bar on stderr, and the final record is read back
// from the service, because the stream also ends when the connection drops, not only when the job
// does. Jobs are the ingest/synth/features kind (JobRecord); training runs have their own events.
import type { JobRecord } from '@mmit/contracts';
import { SingleBar } from 'cli-progress';
import type { ApiClient } from './http-client.js';

/** A bar on stderr; when stderr is not a terminal it prints a plain line every 2 s instead of redrawing. */
export function progressBar(format: string): SingleBar {
  return new SingleBar({ format, hideCursor: true, noTTYOutput: true, notTTYSchedule: 2000 });
}

/**
 * Follows the job whose record lives at `jobPath` (its events at `${jobPath}/events`) with a bar
 * drawn from `format`, which may use cli-progress's tokens plus {rate} (items/s) and {message}
 * (the job's progress message). Returns the job's record once the stream closes.
 */
export async function followJob(
  client: ApiClient,
  jobPath: string,
  format: string,
  options: { bar?: boolean } = {},
): Promise<JobRecord> {
  // Without a bar (a caller with its own output, a test) the stream is still followed to its end.
  const bar = options.bar === false ? undefined : progressBar(format);
  let started = false;
  for await (const { event, data } of client.events(`${jobPath}/events`)) {
    if (event !== 'job') continue;
    const { done, total, rate, message } = (data as JobRecord).progress;
    const payload = { rate: rate.toFixed(1), message: message ?? '' };
    if (!bar) continue;
    if (!started) {
      // The total can be unknown at first (an archive still being listed): start at 0, fix it later.
      bar.start(total ?? 0, done, payload);
      started = true;
    }
    if (total !== null) bar.setTotal(total);
    bar.update(done, payload);
  }
  if (started) bar?.stop();
  return client.json<JobRecord>(jobPath);
}
