// Job progress with a rate over a sliding time window and an ETA from it. A window (rather than
// the average since the start) lets the rate follow a job whose speed changes, e.g. after a
// resume that skips work already done.
import type { JobProgress } from '@mmit/contracts';

export class ProgressTracker {
  private done: number;
  private failed: number;
  private total: number | null;
  private message: string | undefined;
  private readonly unit: string;
  private samples: { t: number; done: number }[];

  constructor(
    initial: Partial<JobProgress> = {},
    private readonly now: () => number = Date.now,
    private readonly windowMs = 10_000,
  ) {
    this.done = initial.done ?? 0;
    this.failed = initial.failed ?? 0;
    this.total = initial.total ?? null;
    this.unit = initial.unit ?? 'items';
    this.message = initial.message;
    this.samples = [{ t: now(), done: this.done }];
  }

  setTotal(total: number | null): void {
    this.total = total;
  }

  /** Counts `n` more units done, of which `failed` failed. */
  advance(n = 1, failed = 0): void {
    this.done += n;
    this.failed += failed;
    this.sample();
  }

  /** Sets absolute counts (e.g. when a resumed job skips what was already done). */
  set(done: number, failed = this.failed): void {
    this.done = done;
    this.failed = failed;
    // A jump is not throughput: restart the window from here.
    this.samples = [{ t: this.now(), done }];
  }

  note(message: string | undefined): void {
    this.message = message;
  }

  snapshot(): JobProgress {
    const rate = this.rate();
    const left = this.total === null ? null : Math.max(0, this.total - this.done);
    return {
      done: this.done,
      total: this.total,
      failed: this.failed,
      rate: Math.round(rate * 1000) / 1000,
      etaSec: left === null ? null : left === 0 ? 0 : rate > 0 ? Math.round((left / rate) * 10) / 10 : null,
      unit: this.unit,
      ...(this.message ? { message: this.message } : {}),
    };
  }

  private sample(): void {
    this.samples.push({ t: this.now(), done: this.done });
    this.prune(this.now());
  }

  /** Drops samples older than the window, keeping one at or before its start so it stays covered. */
  private prune(t: number): void {
    while (this.samples.length > 1 && this.samples[1].t <= t - this.windowMs) this.samples.shift();
  }

  /** Units per second from the window's oldest sample to now (so a stalled job's rate falls). */
  private rate(): number {
    const t = this.now();
    this.prune(t);
    const first = this.samples[0];
    const seconds = (t - first.t) / 1000;
    return seconds > 0 ? (this.done - first.done) / seconds : 0;
  }
}
