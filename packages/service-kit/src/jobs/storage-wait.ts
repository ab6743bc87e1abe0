// Waiting out an unreachable object store. The bucket retries each call for a second or two; an
// outage longer than that (a MinIO node restarting, a network blip) surfaces in a job as a
// StorageUnavailableError. Rather than fail the job, the runner probes the store with growing
// pauses until it answers, and then runs the job again from its recorded progress (handlers are
// idempotent and resume), or gives up once the outage outlasts the configured patience.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Bucket, StorageUnavailableError } from '@mmit/storage';

/** Whether `err`, or anything in its cause chain, is the store being unreachable. */
export function isStorageOutage(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (e instanceof StorageUnavailableError) return true;
  }
  return false;
}

export interface StorageWait {
  /** When the outage was first seen (Date.now()); patience counts from here. */
  since: number;
  patienceMs: number;
  signal?: AbortSignal;
  now?: () => number;
  /** Pauses between probes: doubling from firstMs up to maxMs. */
  pauses?: { firstMs: number; maxMs: number };
}

/** Resolves true once the bucket answers again, false when patience ran out (or `signal` aborted). */
export async function waitForStorage(bucket: Bucket, wait: StorageWait): Promise<boolean> {
  const now = wait.now ?? Date.now;
  let pause = wait.pauses?.firstMs ?? 500;
  const maxPause = wait.pauses?.maxMs ?? 10_000;
  for (;;) {
    if (wait.signal?.aborted) return false;
    try {
      await bucket.ping();
      return true;
    } catch (err) {
      if (!isStorageOutage(err)) return true;
    }
    const left = wait.since + wait.patienceMs - now();
    if (left <= 0) return false;
    try {
      await sleep(Math.min(pause, left), undefined, { signal: wait.signal });
    } catch {
      return false;
    }
    pause = Math.min(maxPause, pause * 2);
  }
}
