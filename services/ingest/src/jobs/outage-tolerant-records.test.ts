// The job-record view of the bucket against the real embedded S3 server, stopped and started again:
// a record written during the outage is readable at once and reaches the bucket once it is back.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { keys, newId } from '@mmit/contracts';
import { Bucket, embeddedS3Config, StorageUnavailableError, startEmbeddedS3 } from '@mmit/storage';
import { outageTolerantRecords } from './outage-tolerant-records.js';

test('a job record refused during an outage is served from memory and written once S3 is back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mmit-ingest-records-'));
  let s3 = await startEmbeddedS3({ dir, port: 0 });
  const config = { ...embeddedS3Config(s3), retry: { retries: 1, baseDelayMs: 20, maxDelayMs: 50 } };
  const bucket = new Bucket(config);
  const records = outageTolerantRecords(bucket, 'ingest');
  const key = keys.job('ingest', newId('job'));
  try {
    await bucket.ensure();
    await records.bucket.putJson(key, { status: 'running' });
    await s3.stop();
    await records.bucket.putJson(key, { status: 'failed' });
    assert.deepEqual(await records.bucket.getJsonIfExists(key), { status: 'failed' });
    assert.deepEqual(await records.bucket.getJson(key), { status: 'failed' });
    // Other objects are not held back: their writes fail as the bucket's do.
    await assert.rejects(records.bucket.putJson('corpora/other.json', {}), StorageUnavailableError);

    s3 = await startEmbeddedS3({ dir, port: s3.port });
    await records.close();
    assert.deepEqual(await bucket.getJson(key), { status: 'failed' }, 'written out when S3 answered again');
  } finally {
    await records.close();
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
