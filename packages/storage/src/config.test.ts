import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasS3Endpoint, StorageConfigError, s3ConfigFromEnv } from './config.js';

test('s3ConfigFromEnv applies the documented defaults', () => {
  const keys = { MMIT_S3_ACCESS_KEY: 'AK', MMIT_S3_SECRET_KEY: 'SK' };
  const c = s3ConfigFromEnv({ MMIT_S3_ENDPOINT: 'http://127.0.0.1:9000', ...keys });
  assert.equal(c.bucket, 'mmit');
  assert.equal(c.region, 'us-east-1');
  assert.equal(c.accessKey, 'AK');
  assert.equal(c.retry.retries, 4);
  assert.equal(
    s3ConfigFromEnv({ MMIT_S3_ENDPOINT: 'https://s3.example', MMIT_S3_RETRIES: '0', ...keys }).retry.retries,
    0,
  );
});

test('keys have no default: an endpoint without them names both variables', () => {
  assert.throws(
    () => s3ConfigFromEnv({ MMIT_S3_ENDPOINT: 'http://127.0.0.1:9000' }),
    (e: unknown) =>
      e instanceof StorageConfigError &&
      e.issues.some((i) => i.startsWith('MMIT_S3_ACCESS_KEY: required')) &&
      e.issues.some((i) => i.startsWith('MMIT_S3_SECRET_KEY: required')),
  );
});

test('bad settings fail with the variable named', () => {
  assert.throws(
    () => s3ConfigFromEnv({ MMIT_S3_ENDPOINT: 'ftp://x', MMIT_S3_BUCKET: 'ab' }),
    (e: unknown) =>
      e instanceof StorageConfigError &&
      e.issues.some((i) => i.startsWith('MMIT_S3_ENDPOINT')) &&
      e.issues.some((i) => i.startsWith('MMIT_S3_BUCKET')),
  );
  assert.throws(() => s3ConfigFromEnv({}), /MMIT_S3_ENDPOINT/);
  assert.equal(hasS3Endpoint({}), false);
  assert.equal(hasS3Endpoint({ MMIT_S3_ENDPOINT: 'http://x' }), true);
});
