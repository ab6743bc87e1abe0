// Import jobs as records in the bucket (`jobs/ingest/<id>.json`), with the latest state of every
// job this process runs also held in memory: when the bucket is unreachable (the very failure a
// job may be reporting), readers still get the truth from here, and the record is written out as
// soon as the bucket answers again. Subscribers (SSE streams) hear every change.
//
// Written locally because @mmit/service-kit's job helper was not available yet; same record
// schema (JobRecordSchema), so swapping to it later changes no stored object.
import { EventEmitter } from 'node:events';
import {
  type JobProgress,
  type JobRecord,
  JobRecordSchema,
  keys,
  newId,
  TERMINAL_JOB_STATUSES,
} from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';

export const SERVICE = 'ingest';

export class JobNotFoundError extends Error {
  readonly problemCode = 'not_found';
  constructor(readonly jobId: string) {
    super(`job ${jobId} does not exist (jobs are created by POST /v1/corpora/:id/imports)`);
    this.name = 'JobNotFoundError';
  }
}

export class JobStore {
  private readonly live = new Map<string, JobRecord>();
  private readonly unsaved = new Set<string>();
  private readonly events = new EventEmitter().setMaxListeners(0);
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly bucket: Bucket) {}

  async create(kind: string, params: unknown): Promise<JobRecord> {
    const now = new Date().toISOString();
    const record: JobRecord = {
      id: newId('job'),
      service: SERVICE,
      kind,
      status: 'queued',
      progress: { done: 0, total: null, failed: 0, rate: 0, etaSec: null, unit: 'items' },
      params,
      attempt: 1,
      createdAt: now,
      updatedAt: now,
      cancelRequested: false,
    };
    this.live.set(record.id, record);
    await this.bucket.putJson(keys.job(SERVICE, record.id), record, JobRecordSchema);
    return record;
  }

  async get(jobId: string): Promise<JobRecord> {
    const live = this.live.get(jobId);
    if (live) return live;
    const stored = await this.bucket.getJsonIfExists(keys.job(SERVICE, jobId), JobRecordSchema);
    if (!stored) throw new JobNotFoundError(jobId);
    return stored;
  }

  /** Applies a change, tells subscribers, and writes it out (`persist: false` for throttled progress). */
  async update(jobId: string, change: Partial<JobRecord>, persist = true): Promise<JobRecord> {
    const current = await this.get(jobId);
    const next: JobRecord = { ...current, ...change, updatedAt: new Date().toISOString() };
    this.live.set(jobId, next);
    this.events.emit(jobId, next);
    if (persist) await this.save(next);
    else this.unsaved.add(jobId);
    return next;
  }

  /** Writes a record, keeping it queued for a later write if the bucket does not answer. */
  async save(record: JobRecord): Promise<void> {
    try {
      await this.bucket.putJson(keys.job(SERVICE, record.id), record, JobRecordSchema);
      this.unsaved.delete(record.id);
    } catch (err) {
      this.unsaved.add(record.id);
      this.scheduleRetry();
      if (!TERMINAL_JOB_STATUSES.includes(record.status)) throw err;
    }
  }

  /** Jobs a previous process left queued or running. */
  async unfinished(): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    for await (const object of this.bucket.list(keys.jobsPrefix(SERVICE))) {
      const record = await this.bucket.getJsonIfExists(object.key, JobRecordSchema);
      if (record && !TERMINAL_JOB_STATUSES.includes(record.status)) out.push(record);
    }
    return out;
  }

  subscribe(jobId: string, listener: (record: JobRecord) => void): () => void {
    this.events.on(jobId, listener);
    return () => this.events.off(jobId, listener);
  }

  /** Stops background retries; records still unsaved are attempted once more. */
  async close(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.flushUnsaved().catch(() => undefined);
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flushUnsaved().catch(() => this.scheduleRetry());
    }, 5000);
    this.retryTimer.unref();
  }

  private async flushUnsaved(): Promise<void> {
    for (const id of [...this.unsaved]) {
      const record = this.live.get(id);
      if (record) await this.bucket.putJson(keys.job(SERVICE, id), record, JobRecordSchema);
      this.unsaved.delete(id);
    }
  }
}

/** Rate over the whole run so far and the ETA it implies. */
export function progressOf(
  done: number,
  total: number | null,
  failed: number,
  startedAtMs: number,
  doneAtStart: number,
): JobProgress {
  const elapsed = (Date.now() - startedAtMs) / 1000;
  const rate = elapsed > 0 ? (done - doneAtStart) / elapsed : 0;
  const etaSec = total !== null && rate > 0 ? Math.max(0, (total - done) / rate) : null;
  return { done, total, failed, rate, etaSec, unit: 'items' };
}
