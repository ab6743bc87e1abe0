// An object held under a lease: a job record or a unit state that this process owns while it
// works on it. Every write is replace-if-unchanged against the etag of the last version this
// process read or wrote, and carries a freshly stamped lease; so
// - a write that finds the object changed re-reads it: still ours (someone only asked to cancel)
//   means merge and write again; another owner means the lease is lost, and nothing more is
//   written (a replica that lost its lease never publishes over the new owner's work);
// - while the store is unreachable, writes wait and retry with growing pauses, and only the
//   newest value is written when it answers (progress is coalesced, never queued up).
// `holds()` says whether the lease is certainly still ours: another replica takes over only after
// seeing the object unchanged for a whole lease by its own clock, so a last successful write less
// than most of a lease ago means nobody can have taken it yet.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobLease } from '@mmit/contracts';
import { type Bucket, ObjectNotFoundError, PreconditionFailedError } from '@mmit/storage';
import type { z } from 'zod';
import { isStorageOutage } from './storage-wait.js';

/** Who this process is among the replicas of its service. */
export interface ReplicaIdentity {
  owner: string;
  /** Differs on every start, so a restarted process can tell its previous life's leases. */
  instance: string;
  ttlMs: number;
}

export function newInstanceId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export function leaseOf(identity: ReplicaIdentity, now: number): JobLease {
  return {
    owner: identity.owner,
    instance: identity.instance,
    renewedAt: new Date(now).toISOString(),
    ttlSec: identity.ttlMs / 1000,
  };
}

/** The lease was taken over by another replica (or the object deleted): stop, publish nothing. */
export class LeaseLostError extends Error {
  constructor(readonly key: string) {
    super(`the lease on ${key} passed to another replica; this one stops without writing`);
    this.name = 'LeaseLostError';
  }
}

/** A write the store refused for a reason no retry mends (e.g. the value fails its schema). */
class WriteRefused extends Error {}

/**
 * Remembers, per key, the etag last seen and since when (by this process's clock): a lease is
 * stale once its object has not changed for a whole lease period. No clock agreement is needed.
 */
export class StalenessClock {
  private readonly seen = new Map<string, { etag: string; since: number }>();

  constructor(private readonly now: () => number) {}

  /** Records an observation; true when `etag` has been the version for at least `ttlMs`. */
  isStale(key: string, etag: string, ttlMs: number): boolean {
    const t = this.now();
    const last = this.seen.get(key);
    if (!last || last.etag !== etag) {
      this.seen.set(key, { etag, since: t });
      return false;
    }
    return t - last.since >= ttlMs;
  }

  forget(key: string): void {
    this.seen.delete(key);
  }
}

export interface OwnedObjectOptions<T> {
  bucket: Bucket;
  key: string;
  schema: z.ZodType<T>;
  value: T;
  etag: string;
  identity: ReplicaIdentity;
  /**
   * Called with the stored version when a write finds the object changed: returns the value to
   * write instead (ours, with whatever another writer may change merged in), or undefined when
   * the object is no longer ours.
   */
  merge(stored: T, mine: T): T | undefined;
  now?: () => number;
}

interface Waiter {
  version: number;
  resolve(): void;
  reject(err: unknown): void;
}

export class OwnedObject<T extends { lease?: JobLease }> {
  private value: T;
  private etag: string;
  private version = 0;
  private landed = 0;
  private lastLandedAt: number;
  private flushing: Promise<void> | undefined;
  private readonly waiters: Waiter[] = [];
  private readonly closing = new AbortController();
  private lostError: LeaseLostError | undefined;
  /** Set while writes fail because the store is unreachable (Date.now() of the first failure). */
  storageDownSince: number | undefined;
  private readonly now: () => number;

  constructor(private readonly options: OwnedObjectOptions<T>) {
    this.value = options.value;
    this.etag = options.etag;
    this.now = options.now ?? Date.now;
    this.lastLandedAt = this.now();
  }

  get current(): T {
    return this.value;
  }

  get lost(): boolean {
    return this.lostError !== undefined;
  }

  /** True while no other replica can have taken the lease over (see the file comment). */
  holds(): boolean {
    return !this.lost && this.now() - this.lastLandedAt < this.options.identity.ttlMs * 0.8;
  }

  /** Throws LeaseLostError unless holds(): call before publishing anything. */
  assertHeld(): void {
    if (this.lostError) throw this.lostError;
    if (!this.holds()) throw new LeaseLostError(this.options.key);
  }

  /**
   * Sets the next value (or derives it from the current one) and resolves once it, or a later
   * value, is stored. Rejects with LeaseLostError when the object turns out to be someone else's.
   */
  update(next: T | ((current: T) => T)): Promise<void> {
    if (this.lostError) return Promise.reject(this.lostError);
    this.value = typeof next === 'function' ? (next as (c: T) => T)(this.value) : next;
    const version = ++this.version;
    const landed = new Promise<void>((resolve, reject) => this.waiters.push({ version, resolve, reject }));
    this.startFlushing();
    return landed;
  }

  /** One flush loop at a time; a value set while the last loop was ending starts a new one. */
  private startFlushing(): void {
    if (this.flushing) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      if (this.landed < this.version && !this.lostError && !this.closing.signal.aborted) this.startFlushing();
    });
  }

  /** Writes the current value again with a fresh lease stamp. */
  renew(): Promise<void> {
    return this.update((v) => v);
  }

  /** Stops retrying writes (shutdown); pending updates are rejected. */
  close(): void {
    this.closing.abort();
  }

  private async flush(): Promise<void> {
    let pause = 500;
    while (this.landed < this.version && !this.lostError) {
      if (this.closing.signal.aborted) {
        this.settle(new Error(`stopped before ${this.options.key} could be written`));
        return;
      }
      const target = this.version;
      const body = {
        ...this.value,
        lease: this.value.lease ? leaseOf(this.options.identity, this.now()) : undefined,
      };
      try {
        const { etag } = await this.options.bucket.putJsonIfMatch(
          this.options.key,
          body,
          this.etag,
          this.options.schema,
        );
        this.etag = etag;
        this.landed = target;
        this.lastLandedAt = this.now();
        this.storageDownSince = undefined;
        if (this.version === target) this.value = body;
        pause = 500;
        this.settle();
      } catch (err) {
        if (err instanceof PreconditionFailedError || err instanceof ObjectNotFoundError) {
          try {
            await this.reconcile();
          } catch (e) {
            this.failWrite(e);
            this.landed = target;
          }
          continue;
        }
        if (isStorageOutage(err)) {
          this.storageDownSince ??= this.now();
          await sleep(pause, undefined, { signal: this.closing.signal }).catch(() => {});
          pause = Math.min(10_000, pause * 2);
          continue;
        }
        this.failWrite(
          new WriteRefused(`${this.options.key} could not be written: ${(err as Error).message}`, {
            cause: err,
          }),
        );
        this.landed = target;
      }
    }
  }

  /** After a refused write: re-read, and either merge and go on, or give the lease up for lost. */
  private async reconcile(): Promise<void> {
    for (let pause = 500; ; pause = Math.min(10_000, pause * 2)) {
      try {
        const stored = await this.options.bucket.getJsonVersioned(this.options.key, this.options.schema);
        const merged = stored ? this.options.merge(stored.value, this.value) : undefined;
        if (!stored || merged === undefined) {
          this.lostError = new LeaseLostError(this.options.key);
          this.settle();
          return;
        }
        this.value = merged;
        this.etag = stored.etag;
        return;
      } catch (err) {
        if (!isStorageOutage(err) || this.closing.signal.aborted) throw err;
        this.storageDownSince ??= this.now();
        await sleep(pause, undefined, { signal: this.closing.signal }).catch(() => {});
      }
    }
  }

  private failWrite(err: unknown): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
  }

  /** Resolves the waiters whose version has landed; rejects all when the lease is lost or `err` given. */
  private settle(err?: unknown): void {
    const failure = err ?? this.lostError;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (failure) waiter.reject(failure);
      else if (waiter.version <= this.landed) waiter.resolve();
      else continue;
      this.waiters.splice(i, 1);
    }
  }
}
