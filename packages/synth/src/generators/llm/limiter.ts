// Concurrency and rate limits for requests to one endpoint: at most `concurrency` in flight, and
// request starts spaced at least 60 s / requestsPerMinute apart (a smooth rate, no bursts).
export class RequestLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private nextStart = 0;
  private readonly spacingMs: number;

  constructor(
    private readonly concurrency: number,
    requestsPerMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.spacingMs = 60_000 / requestsPerMinute;
  }

  async run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      const t = this.now();
      const start = Math.max(t, this.nextStart);
      this.nextStart = start + this.spacingMs;
      if (start > t) await sleep(start - t, signal);
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
