// A run's record keeping in the bucket: `state.json` (rewritten on every change of status and at
// most every `stateIntervalMs` for progress) and `metrics.jsonl` (S3 has no append, so the file
// is rewritten whole at each checkpoint and at most every `metricsIntervalMs`; a resumed run
// first cuts it back to its checkpoint's step, so the file never holds steps twice). Every change
// is also passed to `onEvent` (the service's SSE streams listen there). A step's progress writes
// go out in the background, so the training loop never waits for the bucket between steps;
// writes still land in order, and a failed one is thrown by the next awaited write (a status
// change, a checkpoint's flush, the end of the run). TensorBoard event files go with metrics.jsonl:
// one per attempt under `runs/<id>/tensorboard/` (tracking.ts), written at the same moments.
import { keys, type MetricsLine, MetricsLineSchema, type RunState, RunStateSchema } from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import type { EvalMetrics, StepMetrics } from './loop.js';
import { AttemptEvents } from './tracking.js';

export type RunEvent =
  | { type: 'state'; state: RunState }
  | { type: 'step'; metrics: StepMetrics }
  | { type: 'eval'; metrics: EvalMetrics };

export interface RecorderOptions {
  stateIntervalMs?: number;
  metricsIntervalMs?: number;
  onEvent?: (event: RunEvent) => void;
  /** TensorBoard event files beside metrics.jsonl (default on); `host` names the files (default: this machine). */
  tensorboard?: false | { host?: string; partBytes?: number };
}

export async function readMetrics(bucket: Bucket, runId: string): Promise<MetricsLine[]> {
  if (!(await bucket.exists(keys.runMetrics(runId)))) return [];
  const text = (await bucket.getBuffer(keys.runMetrics(runId))).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => MetricsLineSchema.parse(JSON.parse(l)));
}

export class RunRecorder {
  private lines: MetricsLine[] = [];
  /** Until the stored lines are read, a flush would overwrite them with none. */
  private linesLoaded = false;
  /** This attempt's TensorBoard log, from the step it resumes at. */
  private events: AttemptEvents | undefined;
  private lastStateWrite = 0;
  private lastMetricsWrite = 0;
  private writes: Promise<void> = Promise.resolve();
  /** The first failure of a background write, until an awaited write reports it. */
  private backgroundFailure: { error: unknown } | undefined;

  constructor(
    private readonly bucket: Bucket,
    public state: RunState,
    private readonly options: RecorderOptions = {},
  ) {}

  get runId(): string {
    return this.state.id;
  }

  /** Loads metrics.jsonl, keeping lines up to `step` (the checkpoint a resume starts from). */
  async resumeMetrics(step: number): Promise<void> {
    this.lines = (await readMetrics(this.bucket, this.runId)).filter((l) => l.step <= step);
    this.linesLoaded = true;
    const tb = this.options.tensorboard;
    if (tb !== false)
      this.events = new AttemptEvents(this.runId, this.state.attempt, step, tb?.host, tb?.partBytes);
    await this.flushMetrics();
  }

  /** Applies a change; status changes are written at once, progress at most every interval. */
  async update(patch: Partial<RunState>, options: { force?: boolean } = {}): Promise<void> {
    const statusChanged = this.apply(patch);
    if (options.force || statusChanged || this.stateWriteDue()) await this.writeState();
  }

  async step(metrics: StepMetrics): Promise<void> {
    const line: MetricsLine = { type: 'step', ...metrics, time: new Date().toISOString() };
    this.lines.push(line);
    this.events?.add(line);
    this.options.onEvent?.({ type: 'step', metrics });
    this.apply({
      step: metrics.step,
      totalSteps: metrics.totalSteps,
      epoch: metrics.epoch,
      samplesSeen: this.state.samplesSeen + metrics.samples,
      tokensSeen: this.state.tokensSeen + metrics.tokens,
      latest: metrics,
    });
    if (this.stateWriteDue()) this.inBackground(this.queueState());
    if (Date.now() - this.lastMetricsWrite >= (this.options.metricsIntervalMs ?? 10_000))
      this.inBackground(this.queueMetrics());
  }

  /** Returns whether the status changed. */
  private apply(patch: Partial<RunState>): boolean {
    const statusChanged = patch.status !== undefined && patch.status !== this.state.status;
    this.state = RunStateSchema.parse({ ...this.state, ...patch, updatedAt: new Date().toISOString() });
    this.options.onEvent?.({ type: 'state', state: this.state });
    return statusChanged;
  }

  private stateWriteDue(): boolean {
    return Date.now() - this.lastStateWrite >= (this.options.stateIntervalMs ?? 1_000);
  }

  /**
   * Records an evaluation. A step has one eval row: a run resumed from before its first
   * checkpoint evaluates step 0 again, and that result replaces the row kept from before.
   */
  async eval(metrics: EvalMetrics): Promise<void> {
    const line: MetricsLine = { type: 'eval', ...metrics, time: new Date().toISOString() };
    const earlier = this.lines.findIndex((l) => l.type === 'eval' && l.step === metrics.step);
    if (earlier >= 0) this.lines[earlier] = line;
    else this.lines.push(line);
    this.events?.add(line);
    this.options.onEvent?.({ type: 'eval', metrics });
    await this.update({ lastEval: metrics });
  }

  get metrics(): readonly MetricsLine[] {
    return this.lines;
  }

  /** Writes metrics.jsonl (after every write queued before it). */
  async flushMetrics(): Promise<void> {
    await this.queueMetrics();
    this.reportBackgroundFailure();
  }

  /** Writes state.json (after every write queued before it). */
  async writeState(): Promise<void> {
    await this.queueState();
    this.reportBackgroundFailure();
  }

  private queueMetrics(): Promise<void> {
    if (!this.linesLoaded) return this.writes.catch(() => {});
    this.lastMetricsWrite = Date.now();
    const body = this.lines.map((l) => JSON.stringify(l)).join('\n') + (this.lines.length ? '\n' : '');
    const eventFiles = this.events?.takeWrites() ?? [];
    return this.serial(async () => {
      await this.bucket.putBuffer(keys.runMetrics(this.runId), body, { contentType: 'application/x-ndjson' });
      for (const file of eventFiles)
        await this.bucket.putBuffer(file.key, file.body, { contentType: 'application/octet-stream' });
    });
  }

  private queueState(): Promise<void> {
    this.lastStateWrite = Date.now();
    const snapshot = this.state;
    return this.serial(() => this.bucket.putJson(keys.runState(this.runId), snapshot, RunStateSchema));
  }

  private inBackground(write: Promise<void>): void {
    write.catch((error: unknown) => {
      this.backgroundFailure ??= { error };
    });
  }

  private reportBackgroundFailure(): void {
    const failure = this.backgroundFailure;
    this.backgroundFailure = undefined;
    if (failure) throw failure.error;
  }

  /** Writes go one after another, so an older state never lands after a newer one. */
  private serial(write: () => Promise<void>): Promise<void> {
    this.writes = this.writes.catch(() => {}).then(write);
    return this.writes;
  }
}
