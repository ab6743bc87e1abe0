// Retries with exponential backoff and full jitter for transient object-store failures. Only
// failures that another attempt can fix are retried: the connection (refused, reset, timed out,
// DNS hiccups) and server-side S3 errors (InternalError, SlowDown, ...). Client errors (4xx:
// missing key, access denied, bad request) fail at once.
import { S3Error } from 'minio';

export interface RetryPolicy {
  /** Retries after the first attempt (0 = no retries). */
  retries: number;
  /** Backoff before retry n is uniform in [0, min(maxDelayMs, baseDelayMs * 2^n)]. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Retries on transient failures: about 1.5 s of backoff in all before giving up. */
export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseDelayMs: 100, maxDelayMs: 5_000 };

const TRANSIENT_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
]);

/** S3 error codes that come with 5xx statuses, plus RequestTimeout (400, but retrying fixes it). */
const TRANSIENT_S3_CODES = new Set([
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'RequestTimeout',
  'XMinioServerNotInitialized',
]);

export function isTransientError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_SOCKET_CODES.has(code)) return true;
  if (err.message === 'socket hang up') return true;
  // With its retries off, minio reports 408/429/5xx responses as a plain Error carrying the status.
  const status = /Retryable HTTP status: (\d{3})/.exec(err.message);
  if (status) return true;
  if (err instanceof S3Error) {
    // minio attaches no HTTP status; an S3 error without a code came from a status minio does not
    // name and a body that is not S3 XML: in practice a proxy or gateway failing (502/504 pages).
    if (!code) return true;
    return typeof code === 'string' && TRANSIENT_S3_CODES.has(code);
  }
  return false;
}

export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry));
}

export class RetriesExhaustedError extends Error {
  constructor(
    readonly attempts: number,
    readonly lastError: unknown,
  ) {
    super(`gave up after ${attempts} attempt(s)`, { cause: lastError });
    this.name = 'RetriesExhaustedError';
  }
}

/**
 * Runs `fn` until it succeeds, a non-transient error occurs (rethrown as is), or the retries are
 * used up (RetriesExhaustedError carrying the last error and the attempt count).
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  isTransient: (err: unknown) => boolean = isTransientError,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isTransient(err)) throw err;
      if (attempt > policy.retries) throw new RetriesExhaustedError(attempt, err);
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt - 1, policy)));
    }
  }
}
