// The runs of this service: create (validate, store spec and state, queue), list, show, cancel,
// resume, and live events. Runs execute here, `concurrency` at a time, through @mmit/train's
// executeRun. The bucket is the truth: state.json says where each run is, checkpoints say where
// to continue, so start() picks up every run a previous process left unfinished and shutdown
// leaves running runs queued for the next start.
// Limits: no lease between replicas (s3rver lacks conditional puts): run one trainer per bucket;
// a cancel reaches a run only in the process running it.
import { EventEmitter } from 'node:events';
import { keys, newId, problem } from '@mmit/contracts';
import type { Logger } from '@mmit/service-kit';
import type { Bucket } from '@mmit/storage';
import {
  executeRun,
  type FeaturesClient,
  initialRunState,
  preflight,
  type RunEvent,
  RunRecorder,
  type RunSpec,
  RunSpecSchema,
  type RunState,
  RunStateSchema,
  TERMINAL_RUN_STATUSES,
} from '@mmit/train';

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

class RunCancelled extends Error {
  override name = 'RunCancelled';
}
class RunInterrupted extends Error {
  override name = 'RunInterrupted';
}

export interface RunManagerOptions {
  bucket: Bucket;
  logger: Logger;
  features?: FeaturesClient;
  concurrency?: number;
  featuresPollMs?: number;
  /** How often state.json is rewritten for progress (status changes are written at once). */
  stateIntervalMs?: number;
}

interface LiveRun {
  /** Settles when the executor has let go of the run (after its final state is written). */
  done: Promise<void>;
  controller: AbortController;
  recorder: RunRecorder;
}

export class RunManager {
  private readonly live = new Map<string, LiveRun>();
  private readonly queue: string[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly events = new EventEmitter();
  private stopped = false;

  constructor(private readonly options: RunManagerOptions) {
    this.events.setMaxListeners(0);
  }

  /** Validates the spec (shape, then against the bucket and checkpoints), stores it, queues the run. */
  async create(input: unknown): Promise<RunState> {
    const spec = RunSpecSchema.parse(input);
    await preflight(this.options.bucket, spec);
    const id = newId('run');
    const state = initialRunState(id, spec.name, new Date());
    await this.options.bucket.putJson(keys.runSpec(id), spec, RunSpecSchema);
    await this.options.bucket.putJson(keys.runState(id), state, RunStateSchema);
    this.enqueue(id);
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
    if (live) return live.recorder.state;
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

  async cancel(id: string): Promise<RunState> {
    const state = await this.get(id);
    if (TERMINAL_RUN_STATUSES.includes(state.status)) return state;
    const live = this.live.get(id);
    if (live) {
      await live.recorder.update({ cancelRequested: true }, { force: true });
      live.controller.abort(new RunCancelled(`run ${id} was cancelled`));
      return live.recorder.state;
    }
    const at = this.queue.indexOf(id);
    if (at >= 0) this.queue.splice(at, 1);
    return this.store(id, {
      ...state,
      status: 'cancelled',
      cancelRequested: true,
      finishedAt: new Date().toISOString(),
    });
  }

  /** Continues a cancelled or failed run from its last checkpoint. */
  async resume(id: string): Promise<RunState> {
    let state = await this.get(id);
    // A cancelled or failed run may still be unwinding here (its final state is written before
    // the executor lets go): wait for it rather than refuse.
    const unwinding = this.live.get(id)?.done;
    if (unwinding && TERMINAL_RUN_STATUSES.includes(state.status)) {
      await unwinding;
      state = await this.get(id);
    }
    // The stored status counts too: a run just resumed leaves the queue before execute() marks
    // it live (it reads its spec first), and a second resume in that gap must still be refused.
    const active = !TERMINAL_RUN_STATUSES.includes(state.status);
    if (active || this.live.has(id) || this.queue.includes(id)) {
      throw new RunConflictError(
        `run ${id} is already ${state.status}; only cancelled or failed runs can be resumed`,
      );
    }
    if (state.status === 'succeeded')
      throw new RunConflictError(`run ${id} has finished; there is nothing to resume`);
    const resumed = await this.store(id, {
      ...state,
      status: 'queued',
      attempt: state.attempt + 1,
      cancelRequested: false,
      error: undefined,
      finishedAt: undefined,
      message: state.lastCheckpoint
        ? `resumes from step ${state.lastCheckpoint.step}`
        : 'restarts from step 0',
    });
    this.enqueue(id);
    return resumed;
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
          // Not running here (queued, or in another process): follow the stored state.
          const stored = await this.get(id);
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

  /** Queues every run a previous process left unfinished; returns their ids. */
  async start(): Promise<string[]> {
    const picked: string[] = [];
    for (const state of await this.list()) {
      if (TERMINAL_RUN_STATUSES.includes(state.status) || this.live.has(state.id)) continue;
      const wasStarted = state.status !== 'queued' || state.startedAt !== undefined;
      await this.store(state.id, {
        ...state,
        status: 'queued',
        attempt: wasStarted ? state.attempt + 1 : state.attempt,
        message: state.lastCheckpoint
          ? `resumes from step ${state.lastCheckpoint.step} after a restart`
          : 'queued after a restart',
      });
      picked.push(state.id);
    }
    // Oldest first, as they were created.
    for (const id of picked.reverse()) this.enqueue(id);
    if (picked.length) this.options.logger.info({ runs: picked }, 'resumed unfinished runs');
    return picked;
  }

  /** Interrupts running runs (they stay queued and resume at the next start) and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    for (const [id, live] of this.live)
      live.controller.abort(new RunInterrupted(`run ${id} interrupted by shutdown`));
    await Promise.allSettled([...this.running]);
  }

  /** Resolves when nothing is queued or running here. */
  async idle(): Promise<void> {
    while (this.running.size || this.queue.length) await Promise.allSettled([...this.running]);
  }

  private async store(id: string, state: RunState): Promise<RunState> {
    const stored = RunStateSchema.parse({ ...state, updatedAt: new Date().toISOString() });
    await this.options.bucket.putJson(keys.runState(id), stored, RunStateSchema);
    this.events.emit(id, { type: 'state', state: stored } satisfies RunEvent);
    return stored;
  }

  private enqueue(id: string): void {
    this.queue.push(id);
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < (this.options.concurrency ?? 1) && this.queue.length) {
      const id = this.queue.shift()!;
      const run = this.execute(id).catch((err) =>
        this.options.logger.error({ err, run: id }, 'run executor failed'),
      );
      this.running.add(run);
      run.finally(() => {
        this.running.delete(run);
        this.pump();
      });
    }
  }

  private async execute(id: string): Promise<void> {
    const [spec, state] = await Promise.all([this.spec(id), this.get(id)]);
    const controller = new AbortController();
    const recorder = new RunRecorder(this.options.bucket, state, {
      stateIntervalMs: this.options.stateIntervalMs,
      onEvent: (event) => this.events.emit(id, event),
    });
    let release = () => {};
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.live.set(id, { controller, recorder, done });
    const logger = this.options.logger.child({ run: id, attempt: state.attempt });
    try {
      await executeRun({
        bucket: this.options.bucket,
        spec,
        recorder,
        signal: controller.signal,
        features: this.options.features,
        featuresPollMs: this.options.featuresPollMs,
      });
      logger.info({ steps: recorder.state.step }, 'run finished');
    } catch (err) {
      const reason = controller.signal.aborted ? controller.signal.reason : undefined;
      const finishedAt = new Date().toISOString();
      if (reason instanceof RunCancelled) {
        await recorder.update({ status: 'cancelled', message: reason.message, finishedAt });
      } else if (reason instanceof RunInterrupted) {
        await recorder.update({ status: 'queued', message: `${reason.message}; resumes at the next start` });
      } else {
        logger.error({ err }, 'run failed');
        const detail = err instanceof Error ? err.message : String(err);
        await recorder.update({
          status: 'failed',
          message: detail,
          error: problem('job_failed', detail),
          finishedAt,
        });
      }
      await recorder.flushMetrics().catch(() => {});
    } finally {
      this.live.delete(id);
      release();
    }
  }
}
