// The runs of this service: create (validate, store spec and state, queue), list, show, cancel,
// resume, and live events. A run executes as a job of service-kit's engine (kind `train`), so it
// has what every job has: a lease that one trainer replica holds at a time, takeover by another
// replica when that one dies (the run resumes from its last checkpoint), cancel from any replica,
// storage outages waited out, and shutdown that lets go so another replica carries on at once.
// The run's own state (`runs/<id>/state.json`: step, losses, checkpoints) is written by whoever
// holds the lease, through @mmit/train's RunRecorder; the job record says who that is.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { type JobRecord, keys, newId, problem } from '@mmit/contracts';
import {
  type EndedContext,
  isStorageOutage,
  JobCancelled,
  type JobContext,
  JobInterrupted,
  JobRunner,
  type JobRunnerOptions,
  LeaseLostError,
  type Logger,
} from '@mmit/service-kit';
import type { Bucket } from '@mmit/storage';
import {
  executeRun,
  type FeaturesClient,
  initialRunState,
  pinRevisions,
  precheckCoverage,
  preflight,
  type RunEvent,
  RunRecorder,
  type RunSpec,
  RunSpecSchema,
  type RunState,
  RunStateSchema,
  TERMINAL_RUN_STATUSES,
  UnusableSamplesError,
  WandbLogger,
  type WandbOptions,
} from '@mmit/train';
import { z } from 'zod';

export const TRAIN_JOB = 'train';
const TrainJobParamsSchema = z.object({ runId: z.string() });
type TrainJobParams = z.infer<typeof TrainJobParamsSchema>;

export class RunNotFoundError extends Error {
  readonly problemCode = 'not_found';
  constructor(id: string) {
    super(`run ${id} not found (GET /v1/runs lists runs)`);
    this.name = 'RunNotFoundError';
  }
}

export class RunConflictError extends Error {
  readonly problemCode = 'conflict';
  override name = 'RunConflictError';
}

export interface RunManagerOptions {
  bucket: Bucket;
  logger: Logger;
  features?: FeaturesClient;
  concurrency?: number;
  featuresPollMs?: number;
  /** How often state.json is rewritten for progress (status changes are written at once). */
  stateIntervalMs?: number;
  /** Log every run to Weights & Biases too (WANDB_API_KEY set). */
  wandb?: WandbOptions;
  /** The engine's replica settings (see jobRunnerSettings). */
  jobs?: {
    replicaId?: string;
    leaseMs?: number;
    storagePatienceMs?: number;
    pollMs?: number;
    registry?: JobRunnerOptions['registry'];
  };
}

/** The job engine's service name for runs (their records live under jobs/trainer/). */
const TRAIN_SERVICE = 'trainer';

export class RunManager {
  readonly jobs: JobRunner;
  /** Recorders of runs executing in this process: their state is newer than the stored one. */
  private readonly live = new Map<string, RunRecorder>();
  private readonly events = new EventEmitter();

  constructor(private readonly options: RunManagerOptions) {
    this.events.setMaxListeners(0);
    this.jobs = new JobRunner({
      bucket: options.bucket,
      service: TRAIN_SERVICE,
      logger: options.logger,
      concurrency: options.concurrency ?? 1,
      ...options.jobs,
    });
    this.jobs.define(TRAIN_JOB, {
      params: TrainJobParamsSchema,
      run: (ctx) => this.execute(ctx),
      ended: (ctx) => this.recordEndedJob(ctx),
    });
  }

  /** Validates the spec (shape, then against the bucket and checkpoints), stores it, queues the run. */
  async create(input: unknown): Promise<RunState> {
    let spec = RunSpecSchema.parse(input);
    const checks = await preflight(this.options.bucket, spec);
    // Samples of a modality the encoder does not read are refused here (422), before a run exists.
    const coverage = await precheckCoverage(this.options.bucket, spec, checks.encoderModality);
    // Stored with the commits its repo ids resolved to: a resume or serve a week later must not
    // pick up a branch that moved meanwhile.
    spec = pinRevisions(spec, checks.commits);
    const id = newId('run');
    const jobId = newId('job');
    const state = { ...initialRunState(id, spec.name, new Date()), jobId, coverage };
    await this.options.bucket.putJson(keys.runSpec(id), spec, RunSpecSchema);
    await this.options.bucket.putJson(keys.runState(id), state, RunStateSchema);
    await this.jobs.submit(TRAIN_JOB, { runId: id } satisfies TrainJobParams, { id: jobId });
    return state;
  }

  private runKeyOrNotFound(id: string, key: (id: string) => string): string {
    try {
      return key(id);
    } catch {
      throw new RunNotFoundError(id);
    }
  }

  async get(id: string): Promise<RunState> {
    const live = this.live.get(id);
    if (live) return live.state;
    const state = await this.options.bucket.getJsonIfExists(
      this.runKeyOrNotFound(id, keys.runState),
      RunStateSchema,
    );
    if (!state) throw new RunNotFoundError(id);
    return state;
  }

  async spec(id: string): Promise<RunSpec> {
    const spec = await this.options.bucket.getJsonIfExists(
      this.runKeyOrNotFound(id, keys.runSpec),
      RunSpecSchema,
    );
    if (!spec) throw new RunNotFoundError(id);
    return spec;
  }

  /** Every run, newest first (ids sort by creation time). */
  async list(): Promise<RunState[]> {
    const prefixes = await this.options.bucket.listPrefixes('runs/');
    const ids = prefixes.map((p) => p.slice('runs/'.length, -1)).reverse();
    const states = await Promise.all(ids.map((id) => this.get(id).catch(() => undefined)));
    return states.filter((s): s is RunState => s !== undefined);
  }

  /** Cancels a run from any replica: a queued one at once, a running one before its next step. */
  async cancel(id: string): Promise<RunState> {
    const state = await this.get(id);
    if (TERMINAL_RUN_STATUSES.includes(state.status)) return state;
    const job = await this.jobs.cancel(this.jobIdOf(state));
    if (job.status === 'cancelled') return this.get(id);
    // Running somewhere: its owner sees the request within a third of a lease and stores the end.
    return { ...(await this.get(id)), cancelRequested: true };
  }

  /** Continues a cancelled or failed run from its last checkpoint (on whichever replica claims it). */
  async resume(id: string): Promise<RunState> {
    const state = await this.get(id);
    if (state.status === 'succeeded')
      throw new RunConflictError(`run ${id} has finished; there is nothing to resume`);
    if (!TERMINAL_RUN_STATUSES.includes(state.status)) {
      throw new RunConflictError(
        `run ${id} is already ${state.status}; only cancelled or failed runs can be resumed`,
      );
    }
    const jobId = this.jobIdOf(state);
    const job = await this.jobEnd(jobId);
    if (job.status !== 'failed' && job.status !== 'cancelled') {
      throw new RunConflictError(`run ${id} is still ${job.status}; wait for it to end before resuming`);
    }
    const resumed = await this.store(id, {
      ...state,
      status: 'queued',
      // The job counts the same when a replica claims it (a job that ran before is a new attempt).
      attempt: job.attempt + 1,
      cancelRequested: false,
      error: undefined,
      finishedAt: undefined,
      message: state.lastCheckpoint
        ? `resumes from step ${state.lastCheckpoint.step}`
        : 'restarts from step 0',
    });
    try {
      await this.jobs.retry(jobId);
    } catch (err) {
      await this.store(id, state);
      throw err;
    }
    return resumed;
  }

  /**
   * The run's job once it has ended and been closed. An attempt stores the run's end just before
   * the engine stores the job's, and the engine's `ended` hook (recordEndedJob) runs after that,
   * before the job's open marker goes: a resume clicked in between waits for both (briefly), so
   * neither a refusal nor a late hook's write of the old end undoes it.
   */
  private async jobEnd(jobId: string, patienceMs = 10_000): Promise<JobRecord> {
    const signal = AbortSignal.timeout(patienceMs);
    let last = await this.jobs.get(jobId);
    try {
      for await (const record of this.jobs.watch(jobId, signal, 200)) last = record;
      const open = keys.jobOpen(TRAIN_SERVICE, jobId);
      while (!signal.aborted && (await this.options.bucket.exists(open))) await sleep(100);
    } catch (err) {
      if (!signal.aborted) throw err;
    }
    return last;
  }

  /** The state now, then every change (steps, evals, states) until the run ends or `signal` aborts. */
  async *watch(id: string, signal: AbortSignal, pollMs = 1_000): AsyncGenerator<RunEvent> {
    let state = await this.get(id);
    yield { type: 'state', state };
    const pending: RunEvent[] = [];
    let wake: (() => void) | undefined;
    const listener = (event: RunEvent) => {
      pending.push(event);
      wake?.();
    };
    this.events.on(id, listener);
    try {
      while (!signal.aborted && !TERMINAL_RUN_STATUSES.includes(state.status)) {
        if (pending.length === 0) {
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              signal.removeEventListener('abort', done);
              wake = undefined;
              resolve();
            };
            const timer = setTimeout(done, pollMs);
            wake = done;
            signal.addEventListener('abort', done, { once: true });
          });
        }
        if (pending.length === 0) {
          // Not running here (queued, or on another replica): follow the stored state.
          const stored = await this.get(id).catch(() => state);
          if (stored.updatedAt !== state.updatedAt) {
            state = stored;
            yield { type: 'state', state };
          }
          continue;
        }
        for (const event of pending.splice(0)) {
          if (event.type === 'state') state = event.state;
          yield event;
        }
      }
    } finally {
      this.events.off(id, listener);
    }
  }

  /** Starts looking for runs to execute: new ones, and any a stopped or dead replica left. */
  start(): Promise<void> {
    return this.jobs.start();
  }

  /** Lets go of running runs (they resume on another replica, or at the next start) and waits for them. */
  stop(): Promise<void> {
    return this.jobs.stop();
  }

  /** Resolves when nothing is running here and nothing is left for this process to take. */
  idle(): Promise<void> {
    return this.jobs.idle();
  }

  private jobIdOf(state: RunState): string {
    if (!state.jobId)
      throw new RunConflictError(`run ${state.id} has no job record (made by an older trainer)`);
    return state.jobId;
  }

  private async store(id: string, state: RunState): Promise<RunState> {
    const stored = RunStateSchema.parse({ ...state, updatedAt: new Date().toISOString() });
    await this.options.bucket.putJson(keys.runState(id), stored, RunStateSchema);
    this.events.emit(id, { type: 'state', state: stored } satisfies RunEvent);
    return stored;
  }

  /**
   * A run's job has ended: its state says so too. Normally the attempt stored that already; this
   * covers a run cancelled before any replica ran it, and an attempt whose replica died before it
   * stored the end.
   */
  private async recordEndedJob(ctx: EndedContext<TrainJobParams>): Promise<void> {
    const state = await this.get(ctx.params.runId);
    if (TERMINAL_RUN_STATUSES.includes(state.status)) return;
    // A run resumed since this end was stored is the new attempt's to record, not this hook's.
    if (state.attempt > ctx.record.attempt) return;
    const { record } = ctx;
    const finishedAt = record.finishedAt ?? new Date().toISOString();
    if (record.status === 'cancelled') {
      await this.store(state.id, {
        ...state,
        status: 'cancelled',
        cancelRequested: true,
        message: state.startedAt ? 'cancelled' : 'cancelled before it started',
        finishedAt,
      });
    } else if (record.status === 'failed') {
      const detail = record.error?.detail ?? record.error?.title ?? 'the run failed';
      await this.store(state.id, {
        ...state,
        status: 'failed',
        message: detail,
        error: record.error,
        finishedAt,
      });
    }
  }

  /** The `train` job: one attempt at the run, from its last checkpoint. */
  private async execute(ctx: JobContext<TrainJobParams>): Promise<JobRecord['result']> {
    const { runId } = ctx.params;
    const [spec, stored] = await Promise.all([this.spec(runId), this.get(runId)]);
    // W&B gets the same lines as metrics.jsonl; its failures are warnings, never the run's.
    const wandb = this.options.wandb ? new WandbLogger(this.options.wandb, ctx.logger) : undefined;
    wandb?.start({ runId, name: spec.name, spec, attempt: ctx.attempt });
    const recorder = new RunRecorder(
      this.options.bucket,
      { ...stored, attempt: ctx.attempt, cancelRequested: false },
      {
        stateIntervalMs: this.options.stateIntervalMs,
        onEvent: (event) => {
          this.events.emit(runId, event);
          const time = new Date().toISOString();
          if (event.type === 'step') wandb?.log({ type: 'step', ...event.metrics, time });
          else if (event.type === 'eval') wandb?.log({ type: 'eval', ...event.metrics, time });
        },
      },
    );
    this.live.set(runId, recorder);
    try {
      await executeRun({
        bucket: this.options.bucket,
        spec,
        recorder,
        signal: ctx.signal,
        features: this.options.features,
        featuresPollMs: this.options.featuresPollMs,
        logger: ctx.logger,
      });
      ctx.logger.info({ steps: recorder.state.step }, 'run finished');
      await wandb?.finish(0);
      return { runId, steps: recorder.state.step };
    } catch (err) {
      await this.recordEnd(recorder, ctx, err);
      // A run that ends (failed, cancelled) is finished in W&B; one that another attempt resumes stays open.
      const ended = TERMINAL_RUN_STATUSES.includes(recorder.state.status);
      await wandb?.finish(ended ? 1 : undefined);
      throw err;
    } finally {
      this.live.delete(runId);
    }
  }

  /** Stores how an attempt ended, unless the run is no longer this replica's to write. */
  private async recordEnd(
    recorder: RunRecorder,
    ctx: JobContext<TrainJobParams>,
    err: unknown,
  ): Promise<void> {
    const reason = ctx.signal.aborted ? ctx.signal.reason : undefined;
    const finishedAt = new Date().toISOString();
    if (reason instanceof LeaseLostError) return;
    try {
      if (reason instanceof JobCancelled) {
        await recorder.update({
          status: 'cancelled',
          cancelRequested: true,
          message: reason.message,
          finishedAt,
        });
      } else if (reason instanceof JobInterrupted) {
        await recorder.update({
          status: 'queued',
          message: 'interrupted by a shutdown; another trainer replica or the next start resumes it',
        });
      } else if (isStorageOutage(err)) {
        // The engine waits for the store and runs the attempt again from the last checkpoint.
        await recorder.update({ message: 'waiting for storage' }).catch(() => undefined);
        return;
      } else {
        ctx.logger.error({ err }, 'run failed');
        const detail = err instanceof Error ? err.message : String(err);
        await recorder.update({
          status: 'failed',
          message: detail,
          error: problem(err instanceof UnusableSamplesError ? 'unusable_samples' : 'job_failed', detail),
          finishedAt,
        });
      }
      await recorder.flushMetrics();
    } catch (writeErr) {
      ctx.logger.warn({ err: writeErr }, "the run's end was not stored");
    }
  }
}
