// Admission control for generation: at most `concurrency` requests run at once (each holds the
// CPU or GPU for its whole generation) and at most `maxWaiting` wait for a slot; beyond that the
// request is refused at once (the HTTP layer answers 429 with Retry-After) rather than piling up
// latency. A waiter whose client goes away leaves the line without taking a slot.

export class QueueFullError extends Error {
  override name = 'QueueFullError';
  constructor(readonly waiting: number) {
    super(`the server is busy: ${waiting} requests are already waiting; retry later`);
  }
}

export class QueueAbortedError extends Error {
  override name = 'QueueAbortedError';
}

export interface Slot {
  release(): void;
}

interface Waiter {
  grant: (slot: Slot) => void;
  fail: (error: Error) => void;
}

export class RequestQueue {
  private running = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxWaiting: number,
  ) {}

  get active(): number {
    return this.running;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves with a slot to release when done; throws QueueFullError or QueueAbortedError. */
  acquire(signal?: AbortSignal): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(new QueueAbortedError('the request was aborted'));
    if (this.running < this.concurrency) return Promise.resolve(this.grant());
    if (this.waiters.length >= this.maxWaiting)
      return Promise.reject(new QueueFullError(this.waiters.length));
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = {
        grant: (slot) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(slot);
        },
        fail: reject,
      };
      const onAbort = () => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(new QueueAbortedError('the request was aborted while waiting'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private grant(): Slot {
    this.running++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.running--;
        const next = this.waiters.shift();
        if (next) next.grant(this.grant());
      },
    };
  }
}
