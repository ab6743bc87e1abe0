// The job engine every service runs its long work on, as one replica among any number over one
// bucket. A job is a record at `jobs/<service>/<id>.json`; the record is the truth, so any replica
// answers GET and the SSE stream of any job, and nothing lives only in memory.
//
// Claiming. Open jobs have a marker under `jobs-open/<service>/`; every replica lists them now and
// then (and at once when a job is submitted to it) and claims a job by writing its record with a
// lease (owner, instance) as replace-if-unchanged: of two replicas claiming one job, one wins.
// The owner rewrites the record at least every third of a lease (progress, or a bare renewal);
// a replica that sees a running job's record unchanged for a whole lease takes it over and the
// handler resumes from the recorded progress (handlers are idempotent). A process restarted
// under the same replica id takes its previous life's jobs back at once.
//
// Split jobs. A kind may divide its work into units (defineSplit): the owner plans the units once
// (`job-units/<service>/<job>/plan.json`), then every replica claims units one at a time (each
// with its own lease, `unit-<n>.json`), the owner sums their progress into the job's, and when all
// have succeeded it combines their results. A unit whose replica dies is taken over like a job.
//
// Cancel is a field of the record: whoever is asked writes `cancelRequested` (replace-if-unchanged);
// the owner sees it at its next write (within a third of a lease) and stops; units see it when they
// renew. A queued job nobody owns is cancelled at once.
//
// Storage outages are waited out: a handler that fails because the store is unreachable is run
// again from its recorded progress once the store answers, for up to `storagePatienceMs`; its
// progress says `waiting for storage` meanwhile, and the owner's record writes are retried until
// they land. Shutdown lets go of every lease (a job goes back to queued), so another replica or
// the next start carries on at once.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type JobPlan,
  JobPlanSchema,
  type JobProgress,
  type JobRecord,
  JobRecordSchema,
  type JobUnit,
  JobUnitSchema,
  keys,
  newId,
  type Page,
  type Problem,
  problem,
  TERMINAL_JOB_STATUSES,
} from '@mmit/contracts';
import {
  type Bucket,
  PreconditionFailedError,
  StorageUnavailableError,
  StoredObjectInvalidError,
} from '@mmit/storage';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import { ErrorMappings } from '../errors.js';
import type { Logger } from '../logging.js';
import { defaultReplicaId } from './config.js';
import {
  LeaseLostError,
  leaseOf,
  newInstanceId,
  OwnedObject,
  type ReplicaIdentity,
  StalenessClock,
} from './lease.js';
import { createJobMetrics, type JobMetrics } from './metrics.js';
import { ProgressTracker } from './progress.js';
import { isStorageOutage, waitForStorage } from './storage-wait.js';

export interface JobContext<P> {
  id: string;
  params: P;
  /** 1 on the first run; higher when resumed (after a restart, a takeover or a storage outage). */
  attempt: number;
  /** Progress as stored when this attempt started (how far the previous attempt got). */
  previous: JobProgress;
  progress: ProgressReporter;
  /** Aborted on cancel (reason: JobCancelled), shutdown (JobInterrupted) or a lost lease (LeaseLostError). */
  signal: AbortSignal;
  logger: Logger;
  /** Throws LeaseLostError unless this process certainly still owns the work: call before publishing. */
  assertLease(): void;
}

/** The context of one unit of a split job. */
export interface UnitContext<P, U> extends JobContext<P> {
  /** The unit's input, as planned. */
  unit: U;
  /** Its position in the plan. */
  n: number;
}

/** What a kind hears once its job has ended (see `ended`). */
export interface EndedContext<P> {
  id: string;
  params: P;
  /** The job's final record (status succeeded, failed or cancelled). */
  record: JobRecord;
  logger: Logger;
}

export interface JobKind<S extends z.ZodType, R> {
  params: S;
  run(ctx: JobContext<z.output<S>>): Promise<R>;
  /**
   * Called after the job's final record is stored and before it stops counting as open, by
   * whichever replica ended it or, if that one died first, by the next replica to look: at least
   * once, so it must be idempotent. For cleanup and for state of the kind's own that must say how
   * the job ended (also when no handler ran: a queued job cancelled).
   */
  ended?(ctx: EndedContext<z.output<S>>): Promise<void>;
}

export interface PlannedUnit<U> {
  input: U;
  /** Progress units (items, media) this unit will count, for the job's total. */
  size: number;
}

/** How a split job divides: its units, what every unit and the finish step share, and work already done. */
export interface JobDivision<U, SH> {
  units: PlannedUnit<U>[];
  /** Stored with the plan and handed to every unit and to finish (e.g. the resolved encoder). */
  shared: SH;
  /** Progress units counted as done before any unit runs (e.g. cache hits). */
  done?: number;
}

export interface SplitJobKind<S extends z.ZodType, U extends z.ZodType, SH extends z.ZodType, UR, R> {
  params: S;
  /** Checks each unit's stored input when a replica picks it up. */
  unit: U;
  /** Checks the plan's shared part when a replica reads it. */
  shared: SH;
  /** Divides the job into units; runs once per job (again only if the planner died before storing the plan). */
  plan(ctx: JobContext<z.output<S>>): Promise<JobDivision<z.output<U>, z.output<SH>>>;
  runUnit(ctx: UnitContext<z.output<S>, z.output<U>> & { shared: z.output<SH> }): Promise<UR>;
  /** Combines the units' results (in plan order) once every unit has succeeded. */
  finish(ctx: JobContext<z.output<S>> & { shared: z.output<SH> }, results: UR[]): Promise<R>;
  /** As JobKind.ended. */
  ended?(ctx: EndedContext<z.output<S>>): Promise<void>;
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
  /** Handlers (whole jobs or units) run at once in this process. */
  concurrency?: number;
  /** Least time between two progress writes of one job or unit. */
  progressIntervalMs?: number;
  /** This replica's name (default `<hostname>-<pid>`); see MMIT_REPLICA_ID. */
  replicaId?: string;
  /** Lease length (default 30 s). */
  leaseMs?: number;
  /** How long a job waits out an unreachable store before it fails (default 5 min). */
  storagePatienceMs?: number;
  /** How often to look for claimable work (default 2 s). */
  pollMs?: number;
  /** Where the engine's metrics (claims, renewals, unit wait) are registered: the service's /metrics. */
  registry?: Registry;
  now?: () => number;
}

export class JobNotFoundError extends Error {
  readonly problemCode = 'not_found';
  constructor(id: string, service: string) {
    super(`job ${id} not found in service ${service}`);
    this.name = 'JobNotFoundError';
  }
}

export class JobConflictError extends Error {
  readonly problemCode = 'conflict';
  override name = 'JobConflictError';
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
    super(`job ${id} was interrupted by shutdown; another replica or the next start carries on`);
    this.name = 'JobInterrupted';
  }
}

/** A unit of a split job failed: the job fails with the unit's error. */
class UnitFailedError extends Error {
  constructor(
    readonly n: number,
    readonly problem: Problem,
  ) {
    super(`unit ${n} failed: ${problem.detail ?? problem.title}`);
    this.name = 'UnitFailedError';
  }
}

type AnyKind =
  | { split: false; def: JobKind<z.ZodType, unknown> }
  | { split: true; def: SplitJobKind<z.ZodType, z.ZodType, z.ZodType, unknown, unknown> };

type Outcome =
  | { status: 'succeeded'; result: unknown }
  | { status: 'failed'; error: Problem }
  | { status: 'cancelled' }
  /** Shutdown: let go of the lease so others carry on. */
  | { status: 'released' }
  /** The lease passed to another replica: write nothing. */
  | { status: 'lost' };

interface LiveJob {
  id: string;
  owned: OwnedObject<JobRecord>;
  controller: AbortController;
  tracker: ProgressTracker;
  kind: AnyKind;
}

interface LiveUnit {
  jobId: string;
  n: number;
  owned: OwnedObject<JobUnit>;
  controller: AbortController;
  tracker: ProgressTracker;
}

const isTerminal = (status: JobRecord['status']) => TERMINAL_JOB_STATUSES.includes(status);

export class JobRunner {
  readonly service: string;
  readonly replicaId: string;
  private readonly bucket: Bucket;
  private readonly logger: Logger;
  private readonly concurrency: number;
  private readonly intervalMs: number;
  private readonly patienceMs: number;
  private readonly pollMs: number;
  private readonly now: () => number;
  private readonly identity: ReplicaIdentity;
  private readonly staleness: StalenessClock;
  private readonly kinds = new Map<string, AnyKind>();
  private readonly jobs = new Map<string, LiveJob>();
  private readonly units = new Map<string, LiveUnit>();
  /** Handlers running here (whole jobs and units), each counting against `concurrency`. */
  private busy = 0;
  private readonly running = new Set<Promise<void>>();
  private readonly plans = new Map<string, JobPlan>();
  /** Per split job, units this process knows have ended (succeeded or failed): never looked at again. */
  private readonly endedUnits = new Map<string, Set<number>>();
  private readonly events = new EventEmitter();
  private readonly errors = new ErrorMappings();
  private stopped = false;
  private started = false;
  private ticking: Promise<number> | undefined;
  private tickAgain = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly warnedKinds = new Set<string>();
  private readonly metrics: JobMetrics;

  constructor(options: JobRunnerOptions) {
    this.bucket = options.bucket;
    this.service = options.service;
    this.logger = options.logger.child({ component: 'jobs' });
    this.concurrency = options.concurrency ?? 1;
    this.intervalMs = options.progressIntervalMs ?? 1_000;
    this.patienceMs = options.storagePatienceMs ?? 300_000;
    this.pollMs = options.pollMs ?? 2_000;
    this.now = options.now ?? Date.now;
    this.replicaId = options.replicaId ?? defaultReplicaId();
    this.identity = { owner: this.replicaId, instance: newInstanceId(), ttlMs: options.leaseMs ?? 30_000 };
    this.staleness = new StalenessClock(this.now);
    this.metrics = createJobMetrics(options.registry);
    this.events.setMaxListeners(0);
  }

  define<S extends z.ZodType, R>(kind: string, def: JobKind<S, R>): this {
    this.kinds.set(kind, { split: false, def: def as unknown as JobKind<z.ZodType, unknown> });
    return this;
  }

  defineSplit<S extends z.ZodType, U extends z.ZodType, SH extends z.ZodType, UR, R>(
    kind: string,
    def: SplitJobKind<S, U, SH, UR, R>,
  ): this {
    this.kinds.set(kind, {
      split: true,
      def: def as unknown as SplitJobKind<z.ZodType, z.ZodType, z.ZodType, unknown, unknown>,
    });
    return this;
  }

  /**
   * Checks that the store enforces conditional writes (refusing to run without them), then starts
   * looking for work: jobs a previous process or a dead replica left, and new ones.
   */
  async start(): Promise<void> {
    if (this.started) return;
    await this.bucket.verifyConditionalWrites();
    this.started = true;
    this.schedulePoll(0);
  }

  /**
   * Validates the params against the kind's schema, stores a queued record, and looks for work at
   * once. `options.id` gives the job an id made beforehand (so a caller can store it first).
   */
  /** `unit` names what the job's progress counts (default items), e.g. bytes. */
  async submit(
    kind: string,
    params: unknown,
    options: { id?: string; unit?: string } = {},
  ): Promise<JobRecord> {
    const def = this.kindOf(kind);
    const parsed = def.def.params.parse(params);
    const at = new Date(this.now()).toISOString();
    const record: JobRecord = {
      id: options.id ?? newId('job', this.now()),
      service: this.service,
      kind,
      status: 'queued',
      progress: new ProgressTracker(options.unit ? { unit: options.unit } : {}, this.now).snapshot(),
      params: parsed,
      attempt: 1,
      createdAt: at,
      updatedAt: at,
      cancelRequested: false,
    };
    // The marker first: a record without one would never be found by the replicas.
    await this.bucket.putBuffer(keys.jobOpen(this.service, record.id), '');
    await this.bucket.putJsonIfAbsent(keys.job(this.service, record.id), record, JobRecordSchema);
    this.emit(record);
    this.kick();
    return record;
  }

  async get(id: string): Promise<JobRecord> {
    const live = this.jobs.get(id);
    if (live) return this.liveRecord(live);
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
      const id = obj.key.slice(prefix.length, -'.json'.length);
      if (!obj.key.endsWith('.json') || id.includes('/')) continue;
      if (items.length === limit) return { items, nextCursor: items[items.length - 1].id };
      items.push(await this.get(id));
    }
    return { items, nextCursor: null };
  }

  /**
   * Requests cancellation. A queued job nobody owns ends at once; a running one when its owner
   * next writes (within a third of a lease), or at once when it runs in this process.
   */
  async cancel(id: string): Promise<JobRecord> {
    await this.get(id);
    const at = new Date(this.now()).toISOString();
    const stored = await this.bucket.updateJson(
      keys.job(this.service, id),
      JobRecordSchema,
      (record): JobRecord | undefined => {
        if (!record || isTerminal(record.status)) return undefined;
        if (record.status === 'queued' && !record.lease) {
          return { ...record, status: 'cancelled', cancelRequested: true, updatedAt: at, finishedAt: at };
        }
        return record.cancelRequested ? undefined : { ...record, cancelRequested: true, updatedAt: at };
      },
    );
    if (!stored) throw new JobNotFoundError(id, this.service);
    const live = this.jobs.get(id);
    if (live) {
      live.owned.update((r) => ({ ...r, cancelRequested: true })).catch(() => undefined);
      live.controller.abort(new JobCancelled(id));
    }
    if (stored.value.status === 'cancelled' && !this.jobs.has(id)) await this.closeJob(stored.value);
    this.emit(stored.value);
    return this.jobs.has(id) ? this.get(id) : stored.value;
  }

  /** Queues a failed or cancelled job again (attempt + 1 when it runs); its handler resumes. */
  async retry(id: string): Promise<JobRecord> {
    const record = await this.get(id);
    if (this.kinds.get(record.kind)?.split) {
      throw new JobConflictError(`job ${id} is split into units; submit it again instead of retrying`);
    }
    const at = new Date(this.now()).toISOString();
    await this.bucket.putBuffer(keys.jobOpen(this.service, id), '');
    const stored = await this.bucket.updateJson(
      keys.job(this.service, id),
      JobRecordSchema,
      (current): JobRecord | undefined => {
        if (!current || (current.status !== 'failed' && current.status !== 'cancelled')) return undefined;
        const { error: _e, result: _r, finishedAt: _f, lease: _l, ...rest } = current;
        return { ...rest, status: 'queued', cancelRequested: false, updatedAt: at };
      },
    );
    if (!stored || (stored.value.status !== 'queued' && !this.jobs.has(id))) {
      throw new JobConflictError(
        `job ${id} is ${stored?.value.status ?? record.status}; only failed or cancelled jobs can be retried`,
      );
    }
    // Again after the record: a close of the previous end that deleted the marker before this
    // record was stored has then read a terminal record and left it deleted (see closeJob).
    await this.bucket.putBuffer(keys.jobOpen(this.service, id), '');
    this.emit(stored.value);
    this.kick();
    return stored.value;
  }

  /**
   * Yields the job's record now and on every change until it reaches a final status. Changes made
   * in this process arrive at once; otherwise the bucket is polled every `pollMs`.
   */
  async *watch(id: string, signal: AbortSignal, pollMs = 1_000): AsyncGenerator<JobRecord> {
    let last = await this.get(id);
    yield last;
    while (!isTerminal(last.status) && !signal.aborted) {
      await this.nextChange(id, signal, pollMs);
      if (signal.aborted) return;
      let current: JobRecord;
      try {
        current = await this.get(id);
      } catch (err) {
        if (err instanceof StoredObjectInvalidError || isStorageOutage(err)) continue;
        throw err;
      }
      if (current.updatedAt !== last.updatedAt || current.status !== last.status) {
        last = current;
        yield current;
      }
    }
  }

  /** Calls `listener` after every change of any job record of this runner; returns an unsubscribe. */
  onUpdate(listener: (record: JobRecord) => void): () => void {
    this.events.on('update', listener);
    return () => this.events.off('update', listener);
  }

  /**
   * Resolves when this process has nothing left to do: no handler running here and nothing it could
   * claim (jobs other replicas own do not count).
   */
  async idle(): Promise<void> {
    for (;;) {
      while (this.running.size) await Promise.allSettled([...this.running]);
      const claimed = await this.tick();
      if (claimed === 0 && this.running.size === 0) return;
    }
  }

  /**
   * Stops taking work and interrupts what runs here; each job and unit lets go of its lease, so
   * another replica (or the next start) carries on at once. Waits for handlers (up to `timeoutMs`).
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    for (const live of this.jobs.values()) live.controller.abort(new JobInterrupted(live.id));
    for (const live of this.units.values()) live.controller.abort(new JobInterrupted(live.jobId));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    for (const live of this.jobs.values()) live.owned.close();
    for (const live of this.units.values()) live.owned.close();
  }

  // ---- looking for work -------------------------------------------------------------------------

  private kick(): void {
    if (this.started && !this.stopped) this.schedulePoll(0);
  }

  private schedulePoll(delay: number): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.tick()
        .catch((err) => this.logger.warn({ err }, 'looking for jobs failed'))
        .finally(() => {
          if (!this.stopped) this.schedulePoll(this.pollMs);
        });
    }, delay);
  }

  /** One pass over the open jobs, claiming what this process can take; returns how many it claimed. */
  private tick(): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    if (this.ticking) {
      this.tickAgain = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      let claimed = 0;
      do {
        this.tickAgain = false;
        claimed += await this.scan();
      } while (this.tickAgain && !this.stopped);
      return claimed;
    })().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async scan(): Promise<number> {
    let claimed = 0;
    const prefix = keys.jobsOpenPrefix(this.service);
    const markers: { id: string; lastModified: Date }[] = [];
    try {
      for await (const obj of this.bucket.list(prefix)) {
        markers.push({ id: obj.key.slice(prefix.length), lastModified: obj.lastModified });
      }
    } catch (err) {
      if (isStorageOutage(err)) return 0;
      throw err;
    }
    for (const marker of markers) {
      if (this.stopped) break;
      try {
        claimed += await this.consider(marker.id, marker.lastModified);
      } catch (err) {
        if (!isStorageOutage(err)) this.logger.warn({ err, job: marker.id }, 'could not consider a job');
      }
    }
    return claimed;
  }

  /** Claims the job, or units of it, if there is something here for this process. */
  private async consider(id: string, markedAt: Date): Promise<number> {
    const key = keys.job(this.service, id);
    const read = await this.bucket.getJsonVersioned(key, JobRecordSchema);
    if (!read) {
      // A marker is written before its record: only an old one without a record is left over.
      if (this.now() - markedAt.getTime() > 10 * 60_000)
        await this.bucket.delete(keys.jobOpen(this.service, id));
      return 0;
    }
    const record = read.value;
    if (isTerminal(record.status)) {
      if (!this.jobs.has(id)) await this.closeJob(record);
      return 0;
    }
    const kind = this.kinds.get(record.kind);
    if (!kind) {
      if (!this.warnedKinds.has(record.kind)) {
        this.warnedKinds.add(record.kind);
        this.logger.warn(
          { job: id, kind: record.kind },
          'a job of a kind this replica does not know is left to others',
        );
      }
      return 0;
    }
    let claimed = 0;
    if (
      !this.jobs.has(id) &&
      this.claimable(key, read.etag, record) &&
      (kind.split || this.busy < this.concurrency)
    ) {
      claimed += (await this.claimJob(record, read.etag, kind)) ? 1 : 0;
    }
    if (kind.split && record.units && !record.cancelRequested && this.busy < this.concurrency) {
      claimed += await this.claimUnits(record, kind);
    }
    return claimed;
  }

  /** Whether a job or unit may be taken: nobody holds it, its holder was this replica's previous life, or its lease is stale. */
  private claimable(
    key: string,
    etag: string,
    held: { status: string; lease?: JobRecord['lease'] },
  ): boolean {
    if (held.status === 'queued' && !held.lease) return true;
    if (!held.lease) return true;
    if (held.lease.owner === this.identity.owner && held.lease.instance !== this.identity.instance)
      return true;
    return this.staleness.isStale(key, etag, this.identity.ttlMs);
  }

  private async claimJob(record: JobRecord, etag: string, kind: AnyKind): Promise<boolean> {
    const at = new Date(this.now()).toISOString();
    const key = keys.job(this.service, record.id);
    if (record.cancelRequested) {
      // Its owner is gone: finish the cancel it was asked for.
      const cancelled = {
        ...record,
        status: 'cancelled' as const,
        lease: undefined,
        updatedAt: at,
        finishedAt: at,
      };
      try {
        await this.bucket.putJsonIfMatch(key, cancelled, etag, JobRecordSchema);
      } catch (err) {
        if (err instanceof PreconditionFailedError) return false;
        throw err;
      }
      await this.closeJob(cancelled);
      this.emit(cancelled);
      return false;
    }
    const claimed: JobRecord = {
      ...record,
      status: 'running',
      lease: leaseOf(this.identity, this.now()),
      // A job that ran before (a crash, a takeover, a restart) counts a new attempt.
      attempt: record.startedAt && !record.units ? record.attempt + 1 : record.attempt,
      startedAt: record.startedAt ?? at,
      updatedAt: at,
      error: undefined,
    };
    let newEtag: string;
    try {
      ({ etag: newEtag } = await this.bucket.putJsonIfMatch(key, claimed, etag, JobRecordSchema));
    } catch (err) {
      if (err instanceof PreconditionFailedError) {
        this.metrics.claims.inc({ what: 'job', result: 'refused' });
        return false;
      }
      throw err;
    }
    this.metrics.claims.inc({ what: 'job', result: 'won' });
    this.staleness.forget(key);
    const owned = new OwnedObject<JobRecord>({
      bucket: this.bucket,
      key,
      schema: JobRecordSchema,
      value: claimed,
      etag: newEtag,
      identity: this.identity,
      now: this.now,
      merge: (stored, mine) => {
        if (stored.lease?.instance !== this.identity.instance) return undefined;
        if (stored.cancelRequested && !mine.cancelRequested) {
          this.jobs.get(mine.id)?.controller.abort(new JobCancelled(mine.id));
        }
        return { ...mine, cancelRequested: mine.cancelRequested || stored.cancelRequested };
      },
    });
    const live: LiveJob = {
      id: record.id,
      owned,
      controller: new AbortController(),
      tracker: new ProgressTracker({ ...record.progress, message: undefined }, this.now),
      kind,
    };
    this.jobs.set(record.id, live);
    this.emit(claimed);
    if (!kind.split) this.busy++;
    this.track(
      (kind.split ? this.coordinate(live, record) : this.runSingle(live, record)).finally(() => {
        if (!kind.split) this.busy--;
        this.jobs.delete(record.id);
        this.kick();
      }),
      record.id,
    );
    return true;
  }

  /**
   * Claims units of a split job while this process has free slots; returns how many it claimed.
   * A pass tries units from this replica's offset and stops once its slots are full, skipping those
   * known to have ended (from the record, and from earlier reads here): it costs what it tries, not
   * the size of the job. A unit nobody has claimed yet is taken by creating it (create-if-absent);
   * one that exists is read, and taken over (replace-if-unchanged) only if nobody holds it.
   */
  private async claimUnits(record: JobRecord, kind: AnyKind & { split: true }): Promise<number> {
    const plan = await this.planOf(record.id);
    if (!plan) return 0;
    let ended = this.endedUnits.get(record.id);
    if (!ended) {
      ended = new Set();
      this.endedUnits.set(record.id, ended);
    }
    for (const n of record.units?.succeeded ?? []) ended.add(n);
    let claimed = 0;
    // Replicas start their search at different places, so they rarely race for the same unit.
    const offset = hashOf(this.identity.instance) % Math.max(1, plan.units.length);
    for (let i = 0; i < plan.units.length && this.busy < this.concurrency && !this.stopped; i++) {
      const n = (offset + i) % plan.units.length;
      if (ended.has(n) || this.units.has(`${record.id}/${n}`)) continue;
      const unitKey = keys.jobUnit(this.service, record.id, n);
      let unit: JobUnit = {
        jobId: record.id,
        n,
        status: 'running',
        attempt: 1,
        lease: leaseOf(this.identity, this.now()),
        progress: { done: 0, failed: 0, total: plan.units[n].size },
        updatedAt: new Date(this.now()).toISOString(),
      };
      let newEtag: string;
      try {
        ({ etag: newEtag } = await this.bucket.putJsonIfAbsent(unitKey, unit, JobUnitSchema));
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        this.metrics.claims.inc({ what: 'unit', result: 'refused' });
        // Claimed before: it runs elsewhere, it ended, or it waits to be taken over.
        const read = await this.bucket.getJsonVersioned(unitKey, JobUnitSchema);
        if (!read) continue;
        if (read.value.status === 'succeeded' || read.value.status === 'failed') {
          ended.add(n);
          continue;
        }
        if (!this.claimable(unitKey, read.etag, read.value)) continue;
        unit = {
          ...read.value,
          status: 'running',
          attempt: read.value.attempt + 1,
          lease: leaseOf(this.identity, this.now()),
          updatedAt: new Date(this.now()).toISOString(),
        };
        try {
          ({ etag: newEtag } = await this.bucket.putJsonIfMatch(unitKey, unit, read.etag, JobUnitSchema));
        } catch (err) {
          if (err instanceof PreconditionFailedError) {
            this.metrics.claims.inc({ what: 'unit', result: 'refused' });
            continue;
          }
          throw err;
        }
      }
      this.metrics.claims.inc({ what: 'unit', result: 'won' });
      if (unit.attempt === 1) this.metrics.unitWait.observe((this.now() - Date.parse(plan.createdAt)) / 1000);
      this.staleness.forget(unitKey);
      this.startUnit(record, kind, plan, unit, newEtag);
      claimed++;
    }
    return claimed;
  }

  private startUnit(
    record: JobRecord,
    kind: AnyKind & { split: true },
    plan: JobPlan,
    unit: JobUnit,
    etag: string,
  ): void {
    const owned = new OwnedObject<JobUnit>({
      bucket: this.bucket,
      key: keys.jobUnit(this.service, record.id, unit.n),
      schema: JobUnitSchema,
      value: unit,
      etag,
      identity: this.identity,
      now: this.now,
      merge: (stored, mine) => (stored.lease?.instance === this.identity.instance ? mine : undefined),
    });
    const live: LiveUnit = {
      jobId: record.id,
      n: unit.n,
      owned,
      controller: new AbortController(),
      tracker: new ProgressTracker(
        {
          done: unit.progress.done,
          failed: unit.progress.failed,
          total: unit.progress.total,
          unit: record.progress.unit,
        },
        this.now,
      ),
    };
    const name = `${record.id}/${unit.n}`;
    this.units.set(name, live);
    this.busy++;
    this.track(
      this.runUnit(live, record, kind, plan).finally(() => {
        this.busy--;
        this.units.delete(name);
        this.kick();
      }),
      name,
    );
  }

  // ---- running work ------------------------------------------------------------------------------

  private async runSingle(live: LiveJob, record: JobRecord): Promise<void> {
    const def = live.kind.def as JobKind<z.ZodType, unknown>;
    const outcome = await this.attempts(live, record, async (ctx) => ({
      status: 'succeeded' as const,
      result: await def.run(ctx),
    }));
    await this.finishJob(live, outcome);
  }

  /**
   * Owns a split job: plans it (once), lets units run (here and on other replicas), sums their
   * progress into the job record, and combines their results when all have succeeded.
   */
  private async coordinate(live: LiveJob, record: JobRecord): Promise<void> {
    const def = live.kind.def as SplitJobKind<z.ZodType, z.ZodType, z.ZodType, unknown, unknown>;
    const outcome = await this.attempts(live, record, async (ctx) => {
      const plan = await this.planJob(live, ctx, def);
      const results = await this.followUnits(live, plan);
      ctx.progress.note('combining the units');
      const shared = def.shared.parse(plan.shared);
      return { status: 'succeeded' as const, result: await def.finish({ ...ctx, shared }, results) };
    });
    await this.finishJob(live, outcome);
  }

  /**
   * Runs `body` with the job's context, again after a storage outage (once the store answers),
   * and classifies how it ended.
   */
  private async attempts(
    live: LiveJob,
    record: JobRecord,
    body: (ctx: JobContext<unknown>) => Promise<Outcome>,
  ): Promise<Outcome> {
    const logger = this.logger.child({ job: live.id, kind: record.kind });
    const params = live.kind.def.params.parse(record.params);
    const reporter = this.reporter(live.tracker, () => this.scheduleJobWrite(live));
    this.startRenewals('job', live.owned, live.controller, () => this.jobProgressPatch(live));
    for (;;) {
      const current = live.owned.current;
      const ctx: JobContext<unknown> = {
        id: live.id,
        params,
        attempt: current.attempt,
        previous: current.progress,
        progress: reporter,
        signal: live.controller.signal,
        logger: logger.child({ attempt: current.attempt }),
        assertLease: () => live.owned.assertHeld(),
      };
      try {
        return await body(ctx);
      } catch (err) {
        const ended = this.endedBy(live.controller.signal, live.owned);
        if (ended) return ended;
        if (err instanceof LeaseLostError) {
          if (!(await this.stillOurs(live.owned))) return { status: 'lost' };
          logger.warn('the lease had not been renewed in time but was still ours: trying again');
          await live.owned.update((r) => ({ ...r, attempt: r.attempt + 1 })).catch(() => undefined);
          continue;
        }
        if (isStorageOutage(err)) {
          if (
            await this.waitOutStorage(
              live.tracker,
              () => this.scheduleJobWrite(live),
              live.controller.signal,
              err,
              logger,
            )
          ) {
            await live.owned.update((r) => ({ ...r, attempt: r.attempt + 1 })).catch(() => undefined);
            if (live.owned.lost) return { status: 'lost' };
            continue;
          }
          return { status: 'failed', error: this.outageProblem(err) };
        }
        if (err instanceof UnitFailedError) return { status: 'failed', error: err.problem };
        logger.error({ err }, 'job failed');
        return { status: 'failed', error: this.toProblem(err, live.id) };
      } finally {
        live.tracker.note(undefined);
      }
    }
  }

  private async runUnit(
    live: LiveUnit,
    record: JobRecord,
    kind: AnyKind & { split: true },
    plan: JobPlan,
  ): Promise<void> {
    const def = kind.def;
    const input = plan.units[live.n].input;
    const shared = def.shared.parse(plan.shared);
    const logger = this.logger.child({ job: live.jobId, unit: live.n });
    const params = def.params.parse(record.params);
    const parsedInput = def.unit.parse(input);
    const reporter = this.reporter(live.tracker, () => this.scheduleUnitWrite(live));
    // A unit learns of a cancel (or of its job ending) when it renews.
    const watchJob = async () => {
      const job = await this.bucket.getJsonIfExists(keys.job(this.service, live.jobId), JobRecordSchema);
      if (!job || job.cancelRequested || isTerminal(job.status))
        live.controller.abort(new JobCancelled(live.jobId));
    };
    this.startRenewals('unit', live.owned, live.controller, () => this.unitProgressPatch(live), watchJob);
    let outcome: Outcome;
    for (;;) {
      const current = live.owned.current;
      const ctx: UnitContext<unknown, unknown> & { shared: unknown } = {
        shared,
        id: live.jobId,
        n: live.n,
        unit: parsedInput,
        params,
        attempt: current.attempt,
        previous: { ...record.progress, ...current.progress, rate: 0, etaSec: null },
        progress: reporter,
        signal: live.controller.signal,
        logger: logger.child({ attempt: current.attempt }),
        assertLease: () => live.owned.assertHeld(),
      };
      try {
        outcome = { status: 'succeeded', result: await def.runUnit(ctx) };
        break;
      } catch (err) {
        const ended = this.endedBy(live.controller.signal, live.owned);
        if (ended) {
          outcome = ended;
          break;
        }
        if (err instanceof LeaseLostError) {
          if (!(await this.stillOurs(live.owned))) {
            outcome = { status: 'lost' };
            break;
          }
          logger.warn('the lease had not been renewed in time but was still ours: trying again');
          await live.owned.update((u) => ({ ...u, attempt: u.attempt + 1 })).catch(() => undefined);
          continue;
        }
        if (isStorageOutage(err)) {
          if (
            await this.waitOutStorage(
              live.tracker,
              () => this.scheduleUnitWrite(live),
              live.controller.signal,
              err,
              logger,
            )
          ) {
            await live.owned.update((u) => ({ ...u, attempt: u.attempt + 1 })).catch(() => undefined);
            if (live.owned.lost) {
              outcome = { status: 'lost' };
              break;
            }
            continue;
          }
          outcome = { status: 'failed', error: this.outageProblem(err) };
          break;
        }
        logger.error({ err }, 'unit failed');
        outcome = { status: 'failed', error: this.toProblem(err, live.jobId) };
        break;
      }
    }
    this.stopRenewals(live.owned);
    if (outcome.status === 'lost') {
      logger.info('the unit passed to another replica');
      return;
    }
    const progress = this.unitProgressPatch(live).progress;
    const at = new Date(this.now()).toISOString();
    await live.owned
      .update((u) => {
        const { lease: _lease, ...rest } = u;
        if (outcome.status === 'succeeded')
          return { ...rest, status: 'succeeded', result: outcome.result, progress, updatedAt: at };
        if (outcome.status === 'failed')
          return { ...rest, status: 'failed', error: outcome.error, progress, updatedAt: at };
        // Cancelled or shut down: the unit goes back for whoever comes next (nobody, if the job ended).
        return { ...rest, status: 'queued', progress, updatedAt: at };
      })
      .catch((err) => logger.warn({ err }, "the unit's last state was not stored; its lease will expire"));
    if (outcome.status === 'succeeded' || outcome.status === 'failed')
      this.endedUnits.get(live.jobId)?.add(live.n);
    live.owned.close();
  }

  /**
   * After assertLease() refused because no renewal had landed for most of a lease (a busy machine
   * delays them; a handler then throws LeaseLostError) while no other replica was seen to take the
   * work: renews now. A renewal that lands proves the lease is still this replica's (it is written
   * only if the record is unchanged, and a takeover changes it), so the work may go on; before
   * this, such a unit or job was failed although nobody else had it (found by test/e2e/chaos).
   */
  private async stillOurs(owned: OwnedObject<JobRecord> | OwnedObject<JobUnit>): Promise<boolean> {
    await owned.renew().catch(() => undefined);
    return owned.holds();
  }

  /** How the work ended when its signal was aborted (cancel, shutdown, lost lease), else undefined. */
  private endedBy(signal: AbortSignal, owned: { lost: boolean }): Outcome | undefined {
    if (owned.lost || signal.reason instanceof LeaseLostError) return { status: 'lost' };
    if (!signal.aborted) return undefined;
    if (signal.reason instanceof JobCancelled) return { status: 'cancelled' };
    if (signal.reason instanceof JobInterrupted) return { status: 'released' };
    return undefined;
  }

  /** Shows `waiting for storage` until the store answers again; false when patience ran out or work was stopped. */
  private async waitOutStorage(
    tracker: ProgressTracker,
    changed: () => void,
    signal: AbortSignal,
    err: unknown,
    logger: Logger,
  ): Promise<boolean> {
    const since = this.now();
    logger.warn({ err, patienceSec: this.patienceMs / 1000 }, 'object store unreachable; waiting for it');
    tracker.note(`waiting for storage (unreachable since ${new Date(since).toISOString()})`);
    changed();
    const back = await waitForStorage(this.bucket, {
      since,
      patienceMs: this.patienceMs,
      signal,
      now: this.now,
    });
    if (back && !signal.aborted) {
      logger.info({ waitedSec: (this.now() - since) / 1000 }, 'object store is back; carrying on');
      tracker.note(undefined);
      return true;
    }
    return false;
  }

  /** Says what failed without the store's address (job records are read by API clients). */
  private outageProblem(err: unknown): Problem {
    let last = '';
    for (let e = err; e instanceof Error; e = e.cause) {
      if (e instanceof StorageUnavailableError) {
        last = `; last try: ${e.op}${e.key ? ` ${e.key}` : ''} (${e.cause instanceof Error ? ((e.cause as { code?: string }).code ?? e.cause.name) : 'unreachable'})`;
        break;
      }
    }
    return problem(
      'storage_unavailable',
      `object storage stayed unreachable for more than ${this.patienceMs / 1000} s (MMIT_STORAGE_PATIENCE_SEC)${last}`,
    );
  }

  // ---- split jobs --------------------------------------------------------------------------------

  private async planOf(jobId: string): Promise<JobPlan | undefined> {
    const cached = this.plans.get(jobId);
    if (cached) return cached;
    const plan = await this.bucket.getJsonIfExists(keys.jobPlan(this.service, jobId), JobPlanSchema);
    if (plan) this.plans.set(jobId, plan);
    return plan;
  }

  /** The stored plan, or a new one stored now (of two planners, the first to store wins). */
  private async planJob(
    live: LiveJob,
    ctx: JobContext<unknown>,
    def: SplitJobKind<z.ZodType, z.ZodType, z.ZodType, unknown, unknown>,
  ): Promise<JobPlan> {
    let plan = await this.planOf(live.id);
    if (!plan) {
      ctx.progress.note('planning');
      const division = await def.plan(ctx);
      const made: JobPlan = {
        jobId: live.id,
        units: division.units,
        shared: division.shared,
        done: division.done ?? 0,
        createdAt: new Date(this.now()).toISOString(),
      };
      ctx.assertLease();
      try {
        await this.bucket.putJsonIfAbsent(keys.jobPlan(this.service, live.id), made, JobPlanSchema);
        plan = made;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        plan = await this.bucket.getJson(keys.jobPlan(this.service, live.id), JobPlanSchema);
      }
      this.plans.set(live.id, plan);
      ctx.progress.note(undefined);
    }
    const total = plan.done + plan.units.reduce((sum, u) => sum + u.size, 0);
    live.tracker.setTotal(total);
    if (!live.owned.current.units) {
      await live.owned.update((r) => ({
        ...r,
        units: { total: plan.units.length, succeeded: [], running: 0 },
      }));
    }
    this.kick();
    return plan;
  }

  /**
   * Follows the units until all succeeded (returning their results in plan order) or one failed.
   * Each pass lists only the stretches of units not yet seen succeeded (a succeeded unit never
   * changes again), so following a job costs what is still open, not the size of the job.
   */
  private async followUnits(live: LiveJob, plan: JobPlan): Promise<unknown[]> {
    const prefix = keys.jobUnitsPrefix(this.service, live.id);
    const keyOf = (n: number) => keys.jobUnit(this.service, live.id, n);
    const seen = new Map<number, { etag: string; unit: JobUnit }>();
    for (;;) {
      live.controller.signal.throwIfAborted();
      const open = openStretches(plan.units.length, (n) => seen.get(n)?.unit.status === 'succeeded');
      for (const [from, to] of open) {
        const last = keyOf(to - 1);
        const listing = this.bucket.list(prefix, {
          startAfter: from === 0 ? prefix : keyOf(from - 1),
          pageSize: Math.min(1000, to - from),
        });
        for await (const obj of listing) {
          if (obj.key > last) break;
          const match = /unit-(\d+)\.json$/.exec(obj.key);
          if (!match) continue;
          const n = Number(match[1]);
          const known = seen.get(n);
          if (known?.etag === obj.etag) continue;
          const read = await this.bucket.getJsonVersioned(obj.key, JobUnitSchema);
          if (read) seen.set(n, { etag: read.etag, unit: read.value });
        }
      }
      const units = [...seen.values()].map((s) => s.unit);
      const failed = units.find((u) => u.status === 'failed');
      if (failed) {
        const error = failed.error ?? problem('job_failed', 'a unit failed');
        throw new UnitFailedError(failed.n, {
          ...error,
          detail: `unit ${failed.n}: ${error.detail ?? error.title}`,
        });
      }
      const succeeded = units
        .filter((u) => u.status === 'succeeded')
        .map((u) => u.n)
        .sort((a, b) => a - b);
      const done = plan.done + units.reduce((sum, u) => sum + u.progress.done, 0);
      const failedItems = units.reduce((sum, u) => sum + u.progress.failed, 0);
      const before = live.tracker.snapshot();
      if (done > before.done)
        live.tracker.advance(done - before.done, Math.max(0, failedItems - before.failed));
      else if (done < before.done || failedItems !== before.failed) live.tracker.set(done, failedItems);
      const running = units.filter((u) => u.status === 'running').length;
      const summary = live.owned.current.units;
      if (summary && (summary.succeeded.length !== succeeded.length || summary.running !== running)) {
        live.owned
          .update((r) => ({ ...r, units: { total: plan.units.length, succeeded, running } }))
          .catch(() => {});
      }
      this.scheduleJobWrite(live);
      if (succeeded.length === plan.units.length) {
        return plan.units.map((_, n) => seen.get(n)?.unit.result);
      }
      await sleep(Math.min(this.intervalMs, this.pollMs), undefined, { signal: live.controller.signal });
    }
  }

  // ---- records -----------------------------------------------------------------------------------

  private async finishJob(live: LiveJob, outcome: Outcome): Promise<void> {
    this.stopRenewals(live.owned);
    if (outcome.status === 'lost') {
      this.logger.info({ job: live.id }, 'the job passed to another replica');
      live.owned.close();
      return;
    }
    const at = new Date(this.now()).toISOString();
    const progress = live.tracker.snapshot();
    const final = (record: JobRecord): JobRecord => {
      const { lease: _lease, ...rest } = record;
      switch (outcome.status) {
        case 'succeeded':
          return {
            ...rest,
            status: 'succeeded',
            result: outcome.result,
            progress,
            updatedAt: at,
            finishedAt: at,
          };
        case 'failed':
          return { ...rest, status: 'failed', error: outcome.error, progress, updatedAt: at, finishedAt: at };
        case 'cancelled':
          return {
            ...rest,
            status: 'cancelled',
            cancelRequested: true,
            progress,
            updatedAt: at,
            finishedAt: at,
          };
        default:
          // Shut down: a whole job goes back to the queue; a split job stays running (its units may
          // be running elsewhere) without an owner, for the next replica to pick up at once.
          return { ...rest, status: live.kind.split ? 'running' : 'queued', progress, updatedAt: at };
      }
    };
    try {
      await live.owned.update(final);
    } catch (err) {
      if (err instanceof LeaseLostError || this.stopped) {
        // Lost, or shutdown gave up waiting for the store: the stored record still names this
        // replica, so the next start (or another replica, after the lease) takes the job back.
        this.logger.warn({ err, job: live.id }, "the job's last record was not stored");
        live.owned.close();
        return;
      }
      // The store refused the record itself (e.g. a result that is not JSON): no retry mends
      // that, so the job is stored as failed, saying why.
      const detail = `the job's final record could not be stored: ${(err as Error).message}`;
      this.logger.error({ err, job: live.id }, detail);
      await live.owned
        .update((r) => ({
          ...final(r),
          status: 'failed',
          result: undefined,
          error: problem('job_failed', detail),
        }))
        .catch((e) => this.logger.error({ err: e, job: live.id }, 'the failed record was not stored either'));
    }
    live.owned.close();
    const stored = live.owned.current;
    this.emit(stored);
    if (outcome.status === 'failed') this.logger.error({ job: live.id, error: outcome.error }, 'job failed');
    if (isTerminal(stored.status)) {
      await this.closeJob(stored).catch((err) =>
        this.logger.warn({ err, job: live.id }, 'closing the ended job failed; the next look at it retries'),
      );
    }
  }

  /**
   * After a job's final record: the kind's `ended` hook, then its units and plan go, then its
   * open marker (last, so a replica that dies in between leaves the job for the next to close).
   */
  private async closeJob(record: JobRecord): Promise<void> {
    const kind = this.kinds.get(record.kind);
    if (kind?.def.ended) {
      const params = kind.def.params.parse(record.params);
      await kind.def.ended({ id: record.id, params, record, logger: this.logger.child({ job: record.id }) });
    }
    this.plans.delete(record.id);
    this.endedUnits.delete(record.id);
    await this.bucket.deletePrefix(keys.jobUnitsPrefix(this.service, record.id));
    const marker = keys.jobOpen(this.service, record.id);
    await this.bucket.delete(marker);
    // A retry may have queued the job again meanwhile (it writes the marker after its record, see
    // retry): read the record after the delete, and put the marker back for a job that is open.
    const now = await this.bucket.getJsonIfExists(keys.job(this.service, record.id), JobRecordSchema);
    if (now && !isTerminal(now.status)) await this.bucket.putBuffer(marker, '');
  }

  private liveRecord(live: LiveJob): JobRecord {
    return { ...live.owned.current, progress: live.tracker.snapshot() };
  }

  private jobProgressPatch(live: LiveJob): Partial<JobRecord> {
    return { progress: live.tracker.snapshot(), updatedAt: new Date(this.now()).toISOString() };
  }

  private unitProgressPatch(live: LiveUnit): Pick<JobUnit, 'progress' | 'updatedAt'> {
    const { done, failed, total } = live.tracker.snapshot();
    return { progress: { done, failed, total }, updatedAt: new Date(this.now()).toISOString() };
  }

  private readonly writeTimers = new Map<object, NodeJS.Timeout>();
  private readonly lastWrites = new Map<object, number>();

  /** Writes `patch()` now if the progress interval has passed since the last write, else once it has. */
  private throttle(owned: OwnedObject<JobRecord> | OwnedObject<JobUnit>, write: () => void): void {
    if (this.writeTimers.has(owned)) return;
    const wait = Math.max(0, (this.lastWrites.get(owned) ?? 0) + this.intervalMs - this.now());
    const timer = setTimeout(() => {
      this.writeTimers.delete(owned);
      if (owned.lost) return;
      this.lastWrites.set(owned, this.now());
      write();
    }, wait);
    this.writeTimers.set(owned, timer);
  }

  private scheduleJobWrite(live: LiveJob): void {
    this.throttle(live.owned, () => {
      if (live.owned.current.status !== 'running') return;
      this.metrics.progressWrites.inc({ what: 'job' });
      live.owned
        .update((r) => ({ ...r, ...this.jobProgressPatch(live) }))
        .then(() => this.emit(this.liveRecord(live)))
        .catch(() => {});
    });
  }

  private scheduleUnitWrite(live: LiveUnit): void {
    this.throttle(live.owned, () => {
      if (live.owned.current.status !== 'running') return;
      this.metrics.progressWrites.inc({ what: 'unit' });
      live.owned.update((u) => ({ ...u, ...this.unitProgressPatch(live) })).catch(() => {});
    });
  }

  private readonly renewals = new Map<object, NodeJS.Timeout>();

  /**
   * Renews the lease every third of its length (with the latest progress), and aborts the work
   * when the lease turns out to be lost. `check` runs with each renewal (units: is the job still on?).
   */
  private startRenewals<T extends JobRecord | JobUnit>(
    what: 'job' | 'unit',
    owned: OwnedObject<T>,
    controller: AbortController,
    patch: () => Partial<T>,
    check?: () => Promise<void>,
  ): void {
    const renew = () => {
      if (owned.lost) {
        controller.abort(new LeaseLostError(`a ${this.service} job or unit`));
        return;
      }
      this.metrics.renewals.inc({ what });
      owned
        .update((v) => ({ ...v, ...patch() }))
        .catch((err) => {
          if (err instanceof LeaseLostError) controller.abort(err);
        });
      check?.().catch(() => {});
    };
    this.renewals.set(owned, setInterval(renew, Math.max(50, this.identity.ttlMs / 3)));
  }

  private stopRenewals(owned: object): void {
    clearInterval(this.renewals.get(owned));
    this.renewals.delete(owned);
    clearTimeout(this.writeTimers.get(owned));
    this.writeTimers.delete(owned);
    this.lastWrites.delete(owned);
  }

  private reporter(tracker: ProgressTracker, changed: () => void): ProgressReporter {
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

  private kindOf(kind: string): AnyKind {
    const def = this.kinds.get(kind);
    if (!def) throw new UnknownJobKindError(kind, [...this.kinds.keys()]);
    return def;
  }

  private toProblem(err: unknown, id: string): Problem {
    const httpError = this.errors.toHttpError(err);
    const base = httpError.toProblem(`/jobs/${id}`);
    // Unknown errors: the message is useful to whoever reads the job record (it is not an HTTP
    // response to an anonymous client), so keep it rather than the generic internal text.
    if (httpError.code === 'internal' && err instanceof Error) return { ...base, detail: err.message };
    return base;
  }

  private track(work: Promise<void>, name: string): void {
    const run = work.catch((err) => this.logger.error({ err, work: name }, 'job runner failed'));
    this.running.add(run);
    run.finally(() => this.running.delete(run));
  }

  private emit(record: JobRecord): void {
    this.events.emit(record.id, record);
    this.events.emit('update', record);
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

/** A small stable hash of a string (FNV-1a), to spread replicas' starting points. */
function hashOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The stretches [from, to) of units 0..total-1 that are not done, merged when there are many
 * (each stretch is one listing request; a few wider ones cost less than many small ones).
 */
export function openStretches(total: number, done: (n: number) => boolean, most = 16): [number, number][] {
  const stretches: [number, number][] = [];
  for (let n = 0; n < total; n++) {
    if (done(n)) continue;
    const last = stretches.at(-1);
    if (last && last[1] === n) last[1] = n + 1;
    else stretches.push([n, n + 1]);
  }
  while (stretches.length > most) {
    // Join the two neighbours with the smallest gap between them.
    let at = 0;
    for (let i = 1; i < stretches.length - 1; i++) {
      if (stretches[i + 1][0] - stretches[i][1] < stretches[at + 1][0] - stretches[at][1]) at = i;
    }
    stretches.splice(at, 2, [stretches[at][0], stretches[at + 1][1]]);
  }
  return stretches;
}
