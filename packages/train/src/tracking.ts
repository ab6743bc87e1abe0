// What a run logs to experiment trackers, from the lines of metrics.jsonl: one table from a line to
// named scalars, so TensorBoard's event files and Weights & Biases show the same numbers under the
// same tags; and an attempt's event files, kept in memory and rewritten whole into the bucket
// with metrics.jsonl (S3 has no append), rolling to a new part before a file grows large.
import { hostname } from 'node:os';
import { keys, type MetricsLine } from '@mmit/contracts';
import { fileVersionEvent, scalarsEvent, sessionStartEvent, tfRecord } from './tfevents.js';

/** A step line's scalars under `train/`, an eval line's under `eval/` (every number the line records). */
export function scalarsOf(line: MetricsLine): Record<string, number> {
  if (line.type === 'eval') {
    return { 'eval/loss': line.loss, 'eval/samples': line.samples, 'eval/targets': line.targets };
  }
  return {
    'train/loss': line.loss,
    'train/lr': line.lr,
    ...Object.fromEntries(Object.entries(line.lrs ?? {}).map(([group, lr]) => [`train/lr/${group}`, lr])),
    'train/grad_norm': line.gradNorm,
    'train/epoch': line.epoch,
    'train/samples': line.samples,
    'train/tokens': line.tokens,
    'train/step_seconds': line.stepSeconds,
    'train/samples_per_sec': line.samplesPerSec,
    'train/tokens_per_sec': line.tokensPerSec,
    'train/eta_sec': line.etaSec,
  };
}

/** Event files roll to a new part past this size, so a long run does not rewrite one huge object. */
export const EVENT_PART_BYTES = 8 * 1024 * 1024;

const pad = (n: number) => String(n).padStart(3, '0');

/**
 * The event file name TensorBoard expects (`events.out.tfevents.<seconds>.<host>`), plus the
 * attempt and part: names sort by start time, so TensorBoard reads an attempt after the ones before.
 */
export function eventFileName(startedAt: Date, host: string, attempt: number, part: number): string {
  const seconds = String(Math.floor(startedAt.getTime() / 1000)).padStart(10, '0');
  const safeHost = host.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 64) || 'host';
  return `events.out.tfevents.${seconds}.${safeHost}.${pad(attempt % 1000)}-${pad(part % 1000)}`;
}

export interface EventFileWrite {
  key: string;
  body: Buffer;
}

/** One attempt's TensorBoard log: its parts' records, and which of them the bucket has not seen. */
export class AttemptEvents {
  private part = 0;
  private name: string;
  private records: Buffer[] = [];
  private size = 0;
  private dirty = true;
  /** Parts closed since the last write, to be written one last time. */
  private closed: EventFileWrite[] = [];

  constructor(
    private readonly runId: string,
    private readonly attempt: number,
    resumeStep: number,
    private readonly host = hostname(),
    private readonly partBytes = EVENT_PART_BYTES,
  ) {
    const now = new Date();
    this.name = this.open(now);
    // A resumed attempt says where it starts, so TensorBoard drops what earlier attempts logged at
    // or after that step (it keeps steps below a START's). From a checkpoint at step s the first
    // new step is s + 1; from no checkpoint, step 0 (evaluated again) is new too.
    if (attempt > 1 || resumeStep > 0)
      this.push(sessionStartEvent(now.getTime() / 1000, resumeStep === 0 ? 0 : resumeStep + 1));
  }

  private open(at: Date): string {
    this.records = [];
    this.size = 0;
    this.push(fileVersionEvent(at.getTime() / 1000));
    return eventFileName(at, this.host, this.attempt, this.part);
  }

  private push(event: Buffer): void {
    const record = tfRecord(event);
    this.records.push(record);
    this.size += record.length;
    this.dirty = true;
  }

  add(line: MetricsLine): void {
    this.push(scalarsEvent(Date.parse(line.time) / 1000, line.step, scalarsOf(line)));
    if (this.size >= this.partBytes) {
      this.closed.push(this.current());
      this.part += 1;
      this.name = this.open(new Date());
    }
  }

  private current(): EventFileWrite {
    return { key: keys.runTensorboardFile(this.runId, this.name), body: Buffer.concat(this.records) };
  }

  /** The files to (re)write now: parts closed since the last call, and the open part if it changed. */
  takeWrites(): EventFileWrite[] {
    const writes = this.closed.splice(0);
    if (this.dirty) writes.push(this.current());
    this.dirty = false;
    return writes;
  }
}
