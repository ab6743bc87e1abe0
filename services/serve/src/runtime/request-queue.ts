// Admission control for generation: at most `concurrency` requests generate at once (each holds
// the CPU or GPU for its whole generation) and at most `maxWaiting` more are admitted to wait;
// beyond that a request is refused at once (the HTTP layer answers 429 with Retry-After) rather
// than piling up latency. Admission is decided before anything costly is done for a request
// (decoding its images, loading its model): `admit()` is synchronous and takes a place in line,
// which the request keeps while its media are decoded and it waits for a generation slot. A
// waiter whose client goes away leaves the line without taking a slot.

export function queueFullMessage(waiting: number): string {
  return `the server is busy: ${waiting} requests are already waiting; retry later`;
}

export class QueueFullError extends Error {
  override name = 'QueueFullError';
  constructor(readonly waiting: number) {
    super(queueFullMessage(waiting));
  }
}

export class QueueAbortedError extends Error {
  override name = 'QueueAbortedError';
}

export interface Slot {
  release(): void;
}

/** A place in line: held from admission until release(), whether or not a slot was taken. */
export interface Admission {
  /** Waits for a generation slot; throws QueueAbortedError if the signal aborts first. */
  slot(signal?: AbortSignal): Promise<Slot>;
  /** Gives the place back (and the slot, if one was taken). Idempotent. */
  release(): void;
}

interface Waiter {
  grant: (slot: Slot) => void;
  fail: (error: Error) => void;
}

export class RequestQueue {
  private running = 0;
  private admitted = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxWaiting: number,
  ) {}

  get active(): number {
    return this.running;
  }

  /** Admitted requests not generating yet (decoding their media or waiting for a slot). */
  get waiting(): number {
    return this.admitted - this.running;
  }

  /** Takes a place in line now, or throws QueueFullError: no await, so nothing runs before it. */
  admit(): Admission {
    const admission = this.tryAdmit();
    if (!admission) throw new QueueFullError(this.waiting);
    return admission;
  }

  /** As admit(), but a full line answers undefined (no Error built: refusals must cost nothing). */
  tryAdmit(): Admission | undefined {
    if (this.admitted >= this.concurrency + this.maxWaiting) return undefined;
    this.admitted++;
    let slot: Slot | undefined;
    let released = false;
    return {
      slot: async (signal) => {
        slot ??= await this.nextSlot(signal);
        return slot;
      },
      release: () => {
        if (released) return;
        released = true;
        slot?.release();
        this.admitted--;
      },
    };
  }

  /** Admission and a slot in one step (for callers with nothing to do in between). */
  async acquire(signal?: AbortSignal): Promise<Slot> {
    if (signal?.aborted) throw new QueueAbortedError('the request was aborted');
    const admission = this.admit();
    try {
      await admission.slot(signal);
    } catch (err) {
      admission.release();
      throw err;
    }
    return { release: () => admission.release() };
  }

  private nextSlot(signal?: AbortSignal): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(new QueueAbortedError('the request was aborted'));
    if (this.running < this.concurrency) return Promise.resolve(this.grant());
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
