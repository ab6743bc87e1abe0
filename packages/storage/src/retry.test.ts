import assert from 'node:assert/strict';
import { test } from 'node:test';
import { S3Error } from 'minio';
import { backoffDelay, isTransientError, RetriesExhaustedError, withRetry } from './retry.js';

function s3Error(code: string): S3Error {
  const e = new S3Error(code);
  e.code = code;
  return e;
}

function sysError(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}

const fast = { retries: 3, baseDelayMs: 1, maxDelayMs: 2 };

test('connection failures and 5xx S3 codes are transient; 4xx codes are not', () => {
  for (const e of [
    sysError('ECONNREFUSED'),
    sysError('ECONNRESET'),
    sysError('ETIMEDOUT'),
    s3Error('SlowDown'),
  ]) {
    assert.ok(isTransientError(e), String(e));
  }
  assert.ok(isTransientError(s3Error('InternalError')));
  assert.ok(isTransientError(new Error('Request failed after 0 retries: Error: Retryable HTTP status: 503')));
  for (const e of [
    s3Error('NoSuchKey'),
    s3Error('AccessDenied'),
    s3Error('NoSuchBucket'),
    new TypeError('x'),
    'str',
  ]) {
    assert.ok(!isTransientError(e), String(e));
  }
});

test('withRetry retries transient errors until success', async () => {
  let calls = 0;
  const value = await withRetry(async () => {
    calls++;
    if (calls < 3) throw sysError('ECONNRESET');
    return 'ok';
  }, fast);
  assert.equal(value, 'ok');
  assert.equal(calls, 3);
});

test('withRetry fails at once on a non-transient error', async () => {
  let calls = 0;
  await assert.rejects(
    withRetry(async () => {
      calls++;
      throw s3Error('NoSuchKey');
    }, fast),
    (e: unknown) => e instanceof S3Error && e.code === 'NoSuchKey',
  );
  assert.equal(calls, 1);
});

test('withRetry gives up after 1 + retries attempts and keeps the last error', async () => {
  let calls = 0;
  await assert.rejects(
    withRetry(async () => {
      calls++;
      throw sysError('ECONNREFUSED');
    }, fast),
    (e: unknown) =>
      e instanceof RetriesExhaustedError &&
      e.attempts === 4 &&
      (e.lastError as Error).message.includes('ECONNREFUSED'),
  );
  assert.equal(calls, 4);
});

test('backoff grows exponentially, is capped, and is jittered below the cap', () => {
  const policy = { retries: 10, baseDelayMs: 100, maxDelayMs: 1_000 };
  const top = () => 0.999999;
  assert.equal(backoffDelay(0, policy, top), 99);
  assert.equal(backoffDelay(2, policy, top), 399);
  assert.equal(backoffDelay(8, policy, top), 999);
  assert.equal(
    backoffDelay(3, policy, () => 0),
    0,
  );
  assert.equal(
    backoffDelay(3, policy, () => 0.5),
    400,
  );
});
