// Progress of a long job on stderr. On a terminal: one line redrawn in place (at most 10 times a
// second), a bar that starts empty and stays empty while the total is unknown, counts with their
// unit, the rate and an ETA written as 1m20s. Elsewhere (a log file, CI, a pipe) redrawing would
// leave a line per redraw, so it prints one plain line when the job starts, then at every tenth of
// the way or every `intervalMs` (10 s), whichever comes first, and one when it ends. A value that
// is unknown (rate 0, no total) is left out rather than printed as NULL, Infinity or 0/0.

export interface ProgressUpdate {
  done: number;
  /** Null while the total is unknown (an archive still being listed). */
  total: number | null;
  /** Units per second; 0 or absent: not known yet. */
  rate?: number;
  /** Seconds left; absent: derived from the rate and the total when both are known. */
  etaSec?: number | null;
  /** Extra readouts after the counts (the job's phase, a loss). */
  detail?: string;
}

export interface ProgressOptions {
  /** What is happening, first on the line: `importing`, `training`. */
  label: string;
  /** What `done` and `total` count: `items`, `steps`, `MB`. */
  unit: string;
  /** Where to draw (default process.stderr); `isTTY` picks the mode unless `tty` is given. */
  stream?: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  tty?: boolean;
  /** Without a terminal: the longest time between two lines (default 10 s). */
  intervalMs?: number;
  /** The clock (tests pass their own). */
  now?: () => number;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 100;

/** `45s`, `1m20s`, `2h05m`; undefined for a value that is not a duration (negative, NaN, Infinity). */
export function formatDuration(seconds: number | null | undefined): string | undefined {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return undefined;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A rate with as many decimals as it needs: 1234/s, 12.3/s, 0.42/s. */
export function formatRate(rate: number): string {
  return rate >= 100 ? rate.toFixed(0) : rate >= 10 ? rate.toFixed(1) : rate.toFixed(2);
}

export class Progress {
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly started: number;
  private last: ProgressUpdate | undefined;
  private lastDrawn = Number.NEGATIVE_INFINITY;
  private lastPrintedKey: string | undefined;
  private lastDecile = -1;
  private stopped = false;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.intervalMs = options.intervalMs ?? 10_000;
    this.now = options.now ?? (() => Date.now());
    this.started = this.now();
  }

  update(update: ProgressUpdate): void {
    if (this.stopped) return;
    this.last = update;
    const now = this.now();
    if (this.tty) {
      if (now - this.lastDrawn >= REDRAW_MS) this.draw(now);
      return;
    }
    const decile = update.total ? Math.floor((Math.min(update.done, update.total) / update.total) * 10) : -1;
    if (
      this.lastPrintedKey === undefined ||
      decile > this.lastDecile ||
      now - this.lastDrawn >= this.intervalMs
    ) {
      this.lastDecile = Math.max(this.lastDecile, decile);
      this.print(now);
    }
  }

  /** Draws the last state once more and ends the line; later updates are ignored. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.last) return;
    if (this.tty) {
      this.draw(this.now());
      this.stream.write('\n');
    } else if (this.key() !== this.lastPrintedKey) this.print(this.now());
  }

  private draw(now: number): void {
    this.lastDrawn = now;
    const columns = this.stream.columns ?? 120;
    // \r and erase-line: the line is rewritten in place; cut to the width so it never wraps.
    this.stream.write(`\r\x1b[2K${this.text(true).slice(0, Math.max(20, columns - 1))}`);
  }

  private print(now: number): void {
    this.lastDrawn = now;
    this.lastPrintedKey = this.key();
    this.stream.write(`${this.text(false)}\n`);
  }

  /** What a plain line says apart from the clock: a final line repeats none of it. */
  private key(): string {
    const u = this.last;
    return u ? `${u.done}/${u.total}/${u.detail ?? ''}` : '';
  }

  /** The line for the last update: with a bar on a terminal, plain (with the time so far) elsewhere. */
  text(withBar: boolean): string {
    const u = this.last ?? { done: 0, total: null };
    const { label, unit } = this.options;
    const total = u.total !== null && u.total > 0 ? u.total : undefined;
    const fraction = total ? Math.min(1, u.done / total) : 0;
    const parts: string[] = [];
    const counts = total
      ? `${u.done}/${total} ${unit} (${Math.floor(fraction * 100)}%)`
      : `${u.done} ${unit}`;
    if (withBar) {
      const filled = Math.floor(fraction * BAR_WIDTH);
      parts.push(`${label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${counts}`);
    } else parts.push(`${label}: ${counts}`);
    if (u.rate !== undefined && u.rate > 0 && Number.isFinite(u.rate))
      parts.push(`${formatRate(u.rate)} ${unit}/s`);
    const eta =
      u.etaSec !== undefined && u.etaSec !== null
        ? u.etaSec
        : total && u.rate && u.rate > 0
          ? (total - u.done) / u.rate
          : undefined;
    const etaText = total && u.done < total ? formatDuration(eta) : undefined;
    if (etaText) parts.push(`ETA ${etaText}`);
    if (!withBar) parts.push(`${formatDuration((this.now() - this.started) / 1000)} elapsed`);
    if (u.detail) parts.push(u.detail);
    return parts.join(' | ');
  }
}
