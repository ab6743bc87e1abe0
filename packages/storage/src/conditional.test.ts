// Conformance of S3 conditional writes, the primitive replicas coordinate with (leases,
// compare-and-swap manifests, exactly-once publishes). Runs against the embedded server, and
// against any real endpoint when one is given (in a bucket of its own, removed afterwards; see
// testing.ts):
//
//   MMIT_S3_ENDPOINT=http://127.0.0.1:9000 MMIT_S3_ACCESS_KEY=... MMIT_S3_SECRET_KEY=... \
//   MMIT_S3_TEST_BUCKET=mmit-conformance node scripts/test.mjs packages/storage/src/conditional
//
// Expected, as AWS documents it: If-None-Match: * on an existing key is 412 PreconditionFailed;
// If-Match with another etag is 412; If-Match on a missing key is 404 NoSuchKey; of N writers
// racing with the same condition exactly one wins.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { Bucket, type BucketConfig, createS3Client } from './bucket.js';
import { ObjectNotFoundError, PreconditionFailedError } from './errors.js';
import { startTestStore, type TestStore } from './testing.js';

let store: TestStore;
let config: BucketConfig;
let bucket: Bucket;
const key = (name: string) => `conformance/${name}`;

before(async () => {
  store = await startTestStore({
    name: 'conditional',
    bucket: 'mmit-conformance',
    retry: { retries: 3, baseDelayMs: 20, maxDelayMs: 200 },
  });
  ({ config, bucket } = store);
  const where = store.embedded ? 'the embedded server' : `${config.endpoint} (external)`;
  console.log(`# conditional writes against ${where}`);
});

after(() => store?.stop());

/** A second client with its own connections, as another replica would have. */
const otherReplica = () => new Bucket(config);

describe('create if absent (If-None-Match: *)', () => {
  test('creates a missing key and refuses an existing one with 412, leaving it unchanged', async () => {
    const created = await bucket.putIfAbsent(key('create'), 'first');
    assert.match(created.etag, /^[0-9a-f-]+$/, 'the etag comes back bare');
    await assert.rejects(bucket.putIfAbsent(key('create'), 'second'), PreconditionFailedError);
    assert.equal((await bucket.getBuffer(key('create'))).toString(), 'first');
    assert.equal((await bucket.stat(key('create'))).etag, created.etag);
  });

  test('of 12 replicas racing to create one key, exactly one wins', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => otherReplica().putIfAbsent(key('race-create'), `writer ${i}`)),
    );
    const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
    assert.equal(winners.length, 1, `one winner, got ${winners.length}`);
    for (const o of outcomes) {
      if (o.status === 'rejected') assert.ok(o.reason instanceof PreconditionFailedError, String(o.reason));
    }
    assert.equal((await bucket.getBuffer(key('race-create'))).toString(), `writer ${winners[0]}`);
  });
});

describe('replace if unchanged (If-Match)', () => {
  test('replaces the version it names and returns the new etag', async () => {
    const first = await bucket.putIfAbsent(key('replace'), 'v1');
    const second = await bucket.putIfMatch(key('replace'), 'v2', first.etag);
    assert.notEqual(second.etag, first.etag);
    assert.equal((await bucket.stat(key('replace'))).etag, second.etag);
    assert.equal((await bucket.getBuffer(key('replace'))).toString(), 'v2');
  });

  test('refuses a stale etag with 412, leaving the object unchanged', async () => {
    const first = await bucket.putIfAbsent(key('stale'), 'v1');
    await bucket.putIfMatch(key('stale'), 'v2', first.etag);
    await assert.rejects(bucket.putIfMatch(key('stale'), 'v3', first.etag), PreconditionFailedError);
    assert.equal((await bucket.getBuffer(key('stale'))).toString(), 'v2');
  });

  test('answers 404 NoSuchKey for a missing key, and creates nothing', async () => {
    await assert.rejects(
      bucket.putIfMatch(key('missing'), 'v1', '0123456789abcdef0123456789abcdef'),
      ObjectNotFoundError,
    );
    assert.equal(await bucket.exists(key('missing')), false);
  });

  test('of 12 replicas replacing one version, exactly one wins', async () => {
    const { etag } = await bucket.putIfAbsent(key('race-replace'), 'v0');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        otherReplica().putIfMatch(key('race-replace'), `writer ${i}`, etag),
      ),
    );
    const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
    assert.equal(winners.length, 1, `one winner, got ${winners.length}`);
    assert.equal((await bucket.getBuffer(key('race-replace'))).toString(), `writer ${winners[0]}`);
  });

  test('a version read with getJsonVersioned carries the etag a replace needs', async () => {
    await bucket.putJsonIfAbsent(key('versioned.json'), { n: 1 });
    const read = await bucket.getJsonVersioned(key('versioned.json'), z.object({ n: z.number() }));
    assert.ok(read);
    await bucket.putJsonIfMatch(key('versioned.json'), { n: 2 }, read.etag);
    assert.equal(await bucket.getJsonVersioned(key('nothing.json'), z.object({})), undefined);
  });
});

describe('compare-and-swap updates', () => {
  test('8 replicas adding 10 each to one counter lose no update', async () => {
    const Counter = z.object({ n: z.number().int(), by: z.array(z.number()) });
    const counter = key('counter.json');
    await Promise.all(
      Array.from({ length: 8 }, async (_, writer) => {
        const replica = otherReplica();
        for (let i = 0; i < 10; i++) {
          await replica.updateJson(counter, Counter, (c) => ({
            n: (c?.n ?? 0) + 1,
            by: [...(c?.by ?? []), writer],
          }));
        }
      }),
    );
    const final = await bucket.getJson(counter, Counter);
    assert.equal(final.n, 80);
    for (let writer = 0; writer < 8; writer++) {
      assert.equal(final.by.filter((w) => w === writer).length, 10, `writer ${writer}'s ten updates`);
    }
  });

  test('a change that returns undefined writes nothing', async () => {
    const Value = z.object({ v: z.string() });
    await bucket.putJsonIfAbsent(key('keep.json'), { v: 'a' });
    const before = await bucket.stat(key('keep.json'));
    const read = await bucket.updateJson(key('keep.json'), Value, () => undefined);
    assert.deepEqual(read?.value, { v: 'a' });
    assert.equal((await bucket.stat(key('keep.json'))).etag, before.etag);
  });
});

test('a multipart upload completes only if absent when it says If-None-Match: *', async () => {
  const client = createS3Client(config);
  const name = key('multipart');
  await bucket.putBuffer(name, 'already here');
  const uploadId = await client.initiateNewMultipartUpload(config.bucket, name, {});
  const part = await client.uploadPart(
    { bucketName: config.bucket, objectName: name, uploadID: uploadId, partNumber: 1, headers: {} },
    Buffer.from('replacement'),
  );
  const body = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"${part.etag}"</ETag></Part></CompleteMultipartUpload>`;
  await assert.rejects(
    client.makeRequestAsync(
      {
        method: 'POST',
        bucketName: config.bucket,
        objectName: name,
        query: `uploadId=${encodeURIComponent(uploadId)}`,
        headers: { 'If-None-Match': '*' },
      },
      body,
      [200],
    ),
    (err: { code?: string }) => err.code === 'PreconditionFailed',
  );
  await client.abortMultipartUpload(config.bucket, name, uploadId).catch(() => {});
  assert.equal((await bucket.getBuffer(name)).toString(), 'already here');
});

test('the start-up check passes: the server enforces conditional writes', async () => {
  await bucket.verifyConditionalWrites();
});
