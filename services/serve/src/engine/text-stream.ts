// Token ids to text, incrementally, with OpenAI stop strings. Each step decodes the whole
// continuation (byte-level BPE can only be decoded safely as a whole: one character may span
// tokens) and releases the part that can no longer change: text ending in an incomplete UTF-8
// sequence (U+FFFD) is held back, and so is any tail that could still grow into a stop string.
// A stop string ends the text right before it; it is never part of the output (OpenAI's rule).

export interface TextDecoder {
  decode(ids: number[], options?: { skipSpecialTokens?: boolean }): string;
}

export interface StreamStep {
  /** New text that is final. */
  delta: string;
  /** True once a stop string was met: generation must end. */
  stopped: boolean;
}

export class TextStream {
  private readonly ids: number[] = [];
  private emitted = 0;
  private stopped = false;

  constructor(
    private readonly tokenizer: TextDecoder,
    private readonly stops: string[],
  ) {}

  /** The text released so far. */
  text = '';

  push(id: number): StreamStep {
    if (this.stopped) return { delta: '', stopped: true };
    this.ids.push(id);
    const full = this.tokenizer.decode(this.ids, { skipSpecialTokens: true });
    const stopAt = this.findStop(full);
    if (stopAt >= 0) {
      this.stopped = true;
      return { delta: this.release(full.slice(0, stopAt)), stopped: true };
    }
    let safe = full.length;
    while (safe > this.emitted && full[safe - 1] === '\uFFFD') safe--;
    safe -= this.partialStopLength(full.slice(0, safe));
    return { delta: this.release(full.slice(0, Math.max(safe, this.emitted))), stopped: false };
  }

  /** Everything left once generation ends (an incomplete character is flushed as decoded). */
  finish(): string {
    if (this.stopped) return '';
    return this.release(this.tokenizer.decode(this.ids, { skipSpecialTokens: true }));
  }

  private release(upTo: string): string {
    const delta = upTo.slice(this.emitted);
    this.emitted = upTo.length;
    this.text += delta;
    return delta;
  }

  /** Index of the earliest stop string in `full`, searching only where a new one can start. */
  private findStop(full: string): number {
    let best = -1;
    for (const stop of this.stops) {
      const from = Math.max(0, this.emitted - stop.length + 1);
      const at = full.indexOf(stop, from);
      if (at >= 0 && (best < 0 || at < best)) best = at;
    }
    return best;
  }

  /** Length of the longest tail of `text` that is a proper prefix of some stop string. */
  private partialStopLength(text: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, text.length); n > longest; n--) {
        if (text.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
}
