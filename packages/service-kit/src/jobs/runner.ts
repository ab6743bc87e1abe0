// A persistent job runner. Each job is a record at `jobs/<service>/<id>.json` in the bucket; the
// record is the truth, memory only holds the queue. Progress is written throttled (at most once
// per interval, plus every state change), and all writes of one job go through one chain so a
// late progress write can never overwrite a final state. At start-up, resumePending() requeues
// jobs a previous process left queued or running; handlers see `attempt` and the progress the
// last attempt reached, and must be idempotent (ingest is: content-addressed, dedup on rerun).
//
// A job's final record is written until the bucket takes it (with growing pauses) while the store
// is unreachable, and readers of this process see it meanwhile: a store that is down when a job
// ends does not lose its result. A record the store refuses (or that is not JSON) is stored as a
// failed job instead, saying why.
//
// Limits: no lease between replicas (s3rver does not enforce conditional puts), so run one
// runner per service name, or give replicas distinct service names; a cancel reaches a job only
// in the process running it.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type JobProgress,
  type JobRecord,
  JobRecordSchema,
  keys,
  newId,
  type Page,
  type Problem,
  problem,
  TERMINAL_JOB_STATUSES,
} from '@mmit/contracts';
import { type Bucket, StorageUnavailableError, StoredObjectInvalidError } from '@mmit/storage';
import type { z } from 'zod';
import { ErrorMappings } from '../errors.js';
import type { Logger } from '../logging.js';
import { ProgressTracker } from './progress.js';

export interface JobContext<P> {
  id: string;
  params: P;
  /** 1 on the first run; higher when resumed after a restart. */
  attempt: number;
  /** Progress as stored when this attempt started (how far the previous attempt got). */
  previous: JobProgress;
  progress: ProgressReporter;
  /** Aborted on cancel (reason: JobCancelled) or shutdown (reason: JobInterrupted). */
  signal: AbortSignal;
  logger: Logger;
}

export interface JobKind<S extends z.ZodType, R> {
  params: S;
  run(ctx: JobContext<z.output<S>>): Promise<R>;
}

export interface ProgressReporter {
  setTotal(total: number | null): void;
  advance(n?: number, failed?: number): void;
  set(done: number, failed?: number): void;
  note(message: string | undefined): void;
  snapshot(): JobProgress;
}

export interface JobRunnerOptions {
  bucket: Bucket;
  service: string;
  logger: Logger;
  /** Jobs run at once in this process. */
  concurrency?: number;
  /** Least time between two progress writes of one job. */
  progressIntervalMs?: number;
  /** Pauses between tries of a job's final record while the store is unreachable: doubling from `firstMs` up to `maxMs`. */
  finalWriteRetry?: { firstMs: number; maxMs: number };
  now?: () => number;
}

export class JobNotFoundError extends Error {
  readonly problemCode = 'not_found';
  constructor(id: string, service: string) {
    super(`job ${id} not found in service ${service}`);
    this.name = 'JobNotFoundError';
  }
}

export class UnknownJobKindError extends Error {
  readonly problemCode = 'validation';
  constructor(kind: string, known: string[]) {
    super(`unknown job kind ${JSON.stringify(kind)}; known kinds: ${known.join(', ') || '(none)'}`);
    this.name = 'UnknownJobKindError';
  }
}

export class JobCancelled extends Error {
  constructor(id: string) {
    super(`job ${id} was cancelled`);
    this.name = 'JobCancelled';
  }
}

export class JobInterrupted extends Error {
  constructor(id: string) {
    super(`job ${id} was interrupted by shutdown; it resumes at the next start`);
    this.name = 'JobInterrupted';
  }
}

type AnyKind = JobKind<z.ZodType, unknown>;

interface LiveJob {
  record: JobRecord;
  controller: AbortController;
  tracker?: ProgressTracker;
  timer?: NodeJS.Timeout;
  lastWrite: number;
}

export class JobRunner {
  readonly service: string;
  private readonly bucket: Bucket;
  private readonly logger: Logger;
  private readonly concurrency: number;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly kinds = new Map<string, AnyKind>();
  private readonly queue: string[] = [];
  private readonly live = new Map<string, LiveJob>();
  private readonly writes = new Map<string, Promise<void>>();
  private readonly running = new Set<Promise<void>>();
  private readonly events = new EventEmitter();
  private readonly errors = new ErrorMappings();
  private readonly finalWriteRetry: { firstMs: number; maxMs: number };
  /** Aborted by stop(): ends the pauses between final-write tries. */
  private readonly stopping = new AbortController();
  private stopped = false;

  constructor(options: JobRunnerOptions) {
    this.bucket = options.bucket;
    this.service = options.service;
    this.logger = options.logger.child({ component: 'jobs' });
    this.concurrency = options.concurrency ?? 1;
    this.intervalMs = options.progressIntervalMs ?? 1_000;
    this.now = options.now ?? Date.now;
    this.finalWriteRetry = options.finalWriteRetry ?? { firstMs: 1_000, maxMs: 30_000 };
    this.events.setMaxListeners(0);
  }

  define<S extends z.ZodType, R>(kind: string, def: JobKind<S, R>): this {
    this.kinds.set(kind, def as unknown as AnyKind);
    return this;
  }

  /** Validates the params against the kind's schema, stores a queued record, and schedules it. */
  async submit(kind: string, params: unknown): Promise<JobRecord> {
    const def = this.kindOf(kind);
    const parsed = def.params.parse(params);
    const at = new Date(this.now()).toISOString();
    const record: JobRecord = {
      id: newId('job', this.now()),
      service: this.service,
      kind,
      status: 'queued',
      progress: new ProgressTracker({}, this.now).snapshot(),
      params: parsed,
      attempt: 1,
      createdAt: at,
      updatedAt: at,
      cancelRequested: false,
    };
    await this.persist(record);
    this.enqueue(record);
    return record;
  }

  async get(id: string): Promise<JobRecord> {
    const live = this.live.get(id);
    if (live) return live.record;
    let key: string;
    try {
      key = keys.job(this.service, id);
    } catch {
      throw new JobNotFoundError(id, this.service);
    }
    const record = await this.bucket.getJsonIfExists(key, JobRecordSchema);
    if (!record) throw new JobNotFoundError(id, this.service);
    return record;
  }

  /** Jobs in creation order; the cursor is the last id of the previous page. */
  async list(options: { cursor?: string; limit?: number } = {}): Promise<Page<JobRecord>> {
    const limit = options.limit ?? 100;
    const prefix = keys.jobsPrefix(this.service);
    const items: JobRecord[] = [];
    const startAfter = options.cursor ? keys.job(this.service, options.cursor) : undefined;
    for await (const obj of this.bucket.list(prefix, { startAfter, pageSize: limit + 1 })) {
      if (items.length === limit) return { items, nextCursor: items[items.length - 1].id };
      const id = obj.key.slice(prefix.length, -'.json'.length);
      items.push(await this.get(id));
    }
    return { items, nextCursor: null };
  }

  /** Requests cancellation: a queued job ends at once, a running one when its handler sees the signal. */
  async cancel(id: string): Promise<JobRecord> {
    const record = await this.get(id);
    if (TERMINAL_JOB_STATUSES.includes(record.status)) return record;
    const live = this.live.get(id);
    if (live && live.record.status === 'running') {
      live.record = { ...live.record, cancelRequested: true };
      await this.persist(live.record);
      live.controller.abort(new JobCancelled(id));
      return live.record;
    }
    const index = this.queue.indexOf(id);
    if (index >= 0) this.queue.splice(index, 1);
    this.live.delete(id);
    const at = new Date(this.now()).toISOString();
    const cancelled: JobRecord = {
      ...record,
      status: 'cancelled',
      cancelRequested: true,
      updatedAt: at,
      finishedAt: at,
    };
    await this.persist(cancelled);
    return cancelled;
  }

  /**
   * Requeues jobs a previous process left queued or running (one that had started counts a new attempt).
   * Call once at start-up after define(); returns the ids picked up.
   */
  async resumePending(): Promise<string[]> {
    const prefix = keys.jobsPrefix(this.service);
    const picked: string[] = [];
    for await (const obj of this.bucket.list(prefix)) {
      let record: JobRecord;
      try {
        record = await this.bucket.getJson(obj.key, JobRecordSchema);
      } catch (err) {
        this.logger.error({ key: obj.key, err }, 'skipping unreadable job record');
        continue;
      }
      if (record.status !== 'queued' && record.status !== 'running') continue;
      if (this.live.has(record.id)) continue;
      const at = new Date(this.now()).toISOString();
      if (!this.kinds.has(record.kind)) {
        const error = problem(
          'job_failed',
          new UnknownJobKindError(record.kind, [...this.kinds.keys()]).message,
        );
        await this.persist({ ...record, status: 'failed', error, updatedAt: at, finishedAt: at });
        continue;
      }
      // Cancelled while running, but the process ended before it stored so: it stays cancelled.
      if (record.cancelRequested) {
        await this.persist({ ...record, status: 'cancelled', updatedAt: at, finishedAt: at });
        continue;
      }
      // A job that started before (running at a crash, or interrupted by shutdown) counts an attempt.
      const resumed: JobRecord = {
        ...record,
        status: 'queued',
        attempt: record.startedAt ? record.attempt + 1 : record.attempt,
        updatedAt: at,
      };
      await this.persist(resumed);
      this.enqueue(resumed);
      picked.push(record.id);
    }
    if (picked.length) this.logger.info({ jobs: picked }, 'resumed pending jobs');
    return picked;
  }

  /**
   * Yields the job's record now and on every change until it reaches a final status. Changes made
   * in this process arrive at once; otherwise the bucket is polled every `pollMs`.
   */
  async *watch(id: string, signal: AbortSignal, pollMs = 1_000): AsyncGenerator<JobRecord> {
    let last = await this.get(id);
    yield last;
    while (!TERMINAL_JOB_STATUSES.includes(last.status) && !signal.aborted) {
      await this.nextChange(id, signal, pollMs);
      if (signal.aborted) return;
      let current: JobRecord;
      try {
        current = await this.get(id);
      } catch (err) {
        // A record read mid-write on a store without atomic puts: try again next tick.
        if (err instanceof StoredObjectInvalidError) continue;
        throw err;
      }
      if (current.updatedAt !== last.updatedAt || current.status !== last.status) {
        last = current;
        yield current;
      }
    }
  }

  /** Calls `listener` after every write of any job record of this runner; returns an unsubscribe. */
  onUpdate(listener: (record: JobRecord) => void): () => void {
    this.events.on('update', listener);
    return () => this.events.off('update', listener);
  }

  /**
   * Resolves when nothing is queued or running in this process (a finished job whose record waits
   * for an unreachable store still counts as running).
   */
  async idle(): Promise<void> {
    while (this.running.size || this.queue.length) await Promise.race([...this.running]);
    await Promise.all(this.writes.values());
  }

  /**
   * Stops taking jobs and interrupts running ones; they are stored as queued so the next start
   * resumes them. Waits for handlers to return (up to `timeoutMs`) and for pending writes.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.queue.length = 0;
    for (const [id, live] of this.live) live.controller.abort(new JobInterrupted(id));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.running]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    await Promise.all(this.writes.values());
  }

  private kindOf(kind: string): AnyKind {
    const def = this.kinds.get(kind);
    if (!def) throw new UnknownJobKindError(kind, [...this.kinds.keys()]);
    return def;
  }

  private enqueue(record: JobRecord): void {
    this.live.set(record.id, { record, controller: new AbortController(), lastWrite: 0 });
    this.queue.push(record.id);
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.concurrency && this.queue.length) {
      const id = this.queue.shift()!;
      const run = this.execute(id).catch((err) => this.logger.error({ err, job: id }, 'job runner failed'));
      this.running.add(run);
      run.finally(() => {
        this.running.delete(run);
        this.pump();
      });
    }
  }

  private async execute(id: string): Promise<void> {
    const live = this.live.get(id);
    if (!live) return;
    const def = this.kindOf(live.record.kind);
    const previous = live.record.progress;
    const tracker = new ProgressTracker({ ...previous, message: undefined }, this.now);
    live.tracker = tracker;
    const startedAt = new Date(this.now()).toISOString();
    live.record = { ...live.record, status: 'running', startedAt, updatedAt: startedAt, error: undefined };
    await this.persist(live.record);
    const logger = this.logger.child({ job: id, kind: live.record.kind, attempt: live.record.attempt });
    const reporter = this.reporter(live, tracker);
    let outcome: Pick<JobRecord, 'status' | 'result' | 'error'>;
    try {
      const params = def.params.parse(live.record.params);
      const result = await def.run({
        id,
        params,
        attempt: live.record.attempt,
        previous,
        progress: reporter,
        signal: live.controller.signal,
        logger,
      });
      outcome = { status: 'succeeded', result };
    } catch (err) {
      const reason = live.controller.signal.reason;
      if (live.controller.signal.aborted && reason instanceof JobInterrupted) {
        outcome = { status: 'queued' };
        logger.info('interrupted; left queued for the next start');
      } else if (live.controller.signal.aborted && reason instanceof JobCancelled) {
        outcome = { status: 'cancelled' };
      } else {
        outcome = { status: 'failed', error: this.toProblem(err, id) };
        logger.error({ err }, 'job failed');
      }
    }
    clearTimeout(live.timer);
    const at = new Date(this.now()).toISOString();
    const final = outcome.status !== 'queued';
    live.record = {
      ...live.record,
      ...outcome,
      progress: tracker.snapshot(),
      updatedAt: at,
      ...(final ? { finishedAt: at } : {}),
    };
    // Readers see the in-memory record until the final one is stored, never an older stored one.
    try {
      await this.storeFinal(live, logger);
    } finally {
      this.live.delete(id);
    }
  }

  /**
   * Writes a job's last record: again and again while the store is unreachable (only stop() gives
   * up: the stored record then still says running or queued, and the next start resumes the job);
   * once as a failed job when the store refuses it or it is not JSON, which no retry would mend.
   */
  private async storeFinal(live: LiveJob, logger: Logger): Promise<void> {
    let pause = this.finalWriteRetry.firstMs;
    let refused = false;
    for (;;) {
      try {
        await this.persist(live.record);
        return;
      } catch (err) {
        if (!(err instanceof StorageUnavailableError)) {
          if (refused) throw err;
          refused = true;
          logger.error({ err }, 'final job record refused; storing the job as failed instead');
          const detail = `the job's final record could not be stored: ${err instanceof Error ? err.message : String(err)}`;
          live.record = {
            ...live.record,
            status: 'failed',
            result: undefined,
            error: problem('job_failed', detail),
          };
          continue;
        }
        if (this.stopped) throw err;
        logger.warn({ err, retryInMs: pause }, 'object store unreachable; trying the final job record again');
        try {
          await sleep(pause, undefined, { signal: this.stopping.signal });
        } catch {
          throw err;
        }
        pause = Math.min(this.finalWriteRetry.maxMs, pause * 2);
      }
    }
  }

  private toProblem(err: unknown, id: string): Problem {
    const httpError = this.errors.toHttpError(err);
    const base = httpError.toProblem(`/jobs/${id}`);
    // Unknown errors: the message is useful to whoever reads the job record (it is not an HTTP
    // response to an anonymous client), so keep it rather than the generic internal text.
    if (httpError.code === 'internal' && err instanceof Error) return { ...base, detail: err.message };
    return base;
  }

  private reporter(live: LiveJob, tracker: ProgressTracker): ProgressReporter {
    const changed = () => this.scheduleProgress(live);
    return {
      setTotal: (total) => {
        tracker.setTotal(total);
        changed();
      },
      advance: (n = 1, failed = 0) => {
        tracker.advance(n, failed);
        changed();
      },
      set: (done, failed) => {
        tracker.set(done, failed);
        changed();
      },
      note: (message) => {
        tracker.note(message);
        changed();
      },
      snapshot: () => tracker.snapshot(),
    };
  }

  /** Writes progress now if the interval has passed, else once when it does. */
  private scheduleProgress(live: LiveJob): void {
    if (live.timer) return;
    const wait = Math.max(0, live.lastWrite + this.intervalMs - this.now());
    live.timer = setTimeout(() => {
      live.timer = undefined;
      if (live.record.status !== 'running' || !live.tracker) return;
      live.lastWrite = this.now();
      live.record = {
        ...live.record,
        progress: live.tracker.snapshot(),
        updatedAt: new Date(this.now()).toISOString(),
      };
      this.persist(live.record).catch((err) =>
        this.logger.warn({ err, job: live.record.id }, 'progress write failed'),
      );
    }, wait);
  }

  /** Queues a write of the record after the job's previous writes, then tells watchers. */
  private persist(record: JobRecord): Promise<void> {
    const previous = this.writes.get(record.id) ?? Promise.resolve();
    const write = previous
      .catch(() => {})
      .then(() => this.bucket.putJson(keys.job(this.service, record.id), record))
      .then(() => {
        this.events.emit(record.id, record);
        this.events.emit('update', record);
      });
    this.writes.set(record.id, write);
    write
      .finally(() => {
        if (this.writes.get(record.id) === write) this.writes.delete(record.id);
      })
      .catch(() => {});
    return write;
  }

  private nextChange(id: string, signal: AbortSignal, pollMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.events.off(id, done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, pollMs);
      this.events.on(id, done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
