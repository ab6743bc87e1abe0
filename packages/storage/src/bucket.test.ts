// Integration tests against the real embedded S3 server (s3rver) on a random port, or against the
// endpoint MMIT_S3_* name when one is set (see testing.ts); the tests that restart or stop a server
// start embedded ones of their own.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import { Bucket } from './bucket.js';
import { embeddedS3Config, startEmbeddedS3 } from './embedded.js';
import {
  BucketNotFoundError,
  ObjectNotFoundError,
  StorageUnavailableError,
  StoredObjectInvalidError,
} from './errors.js';
import { startTestStore, type TestStore } from './testing.js';

let store: TestStore;
let bucket: Bucket;

before(async () => {
  store = await startTestStore({
    name: 'storage',
    bucket: 'mmit-test',
    retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 20 },
  });
  bucket = store.bucket;
});

after(() => store?.stop());

test('ensure is idempotent and ping sees the bucket', async () => {
  await bucket.ensure();
  await bucket.ping();
  // A random name: on a real endpoint bucket names are global, and a fixed one may exist.
  const missing = new Bucket({ ...store.config, bucket: `mmit-missing-${randomBytes(6).toString('hex')}` });
  await assert.rejects(missing.ping(), BucketNotFoundError);
  await assert.rejects(missing.putBuffer('a', 'b'), BucketNotFoundError);
});

test('buffers and JSON round-trip, with content type and metadata', async () => {
  await bucket.putBuffer('t/a.bin', Buffer.from([1, 2, 3]), {
    contentType: 'application/x-test',
    metadata: { source: 'a.jpg' },
  });
  assert.deepEqual([...(await bucket.getBuffer('t/a.bin'))], [1, 2, 3]);
  const stat = await bucket.stat('t/a.bin');
  assert.equal(stat.size, 3);
  assert.equal(stat.contentType, 'application/x-test');
  assert.equal(stat.metadata.source, 'a.jpg');

  const Schema = z.object({ n: z.number(), tags: z.array(z.string()).default([]) });
  await bucket.putJson('t/a.json', { n: 1 });
  const value = await bucket.getJson('t/a.json', Schema);
  assert.deepEqual(value, { n: 1, tags: [] }, 'the schema is applied on read (defaults filled)');
});

test('a put signed with a sha256 the caller already has stores the bytes; the etag is their MD5', async () => {
  const body = randomBytes(300_000);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const { etag } = await bucket.putBuffer(`t/${sha256}.bin`, body, { sha256, contentType: 'image/jpeg' });
  assert.equal(etag, createHash('md5').update(body).digest('hex'), 'etag without quotes');
  assert.ok((await bucket.getBuffer(`t/${sha256}.bin`)).equals(body));
  assert.equal((await bucket.stat(`t/${sha256}.bin`)).contentType, 'image/jpeg');
});

test('reading a missing or malformed object fails with the key named', async () => {
  await assert.rejects(bucket.getJson('t/missing.json'), (e: unknown) => {
    assert.ok(e instanceof ObjectNotFoundError);
    assert.match(e.message, /t\/missing\.json/);
    return true;
  });
  assert.equal(await bucket.getJsonIfExists('t/missing.json'), undefined);
  assert.equal(await bucket.exists('t/missing.json'), false);
  await assert.rejects(bucket.stat('t/missing.json'), ObjectNotFoundError);

  await bucket.putBuffer('t/bad.json', '{"n": ');
  await assert.rejects(bucket.getJson('t/bad.json'), /t\/bad\.json is not valid: not JSON/);
  await bucket.putJson('t/wrong.json', { n: 'one' });
  await assert.rejects(bucket.getJson('t/wrong.json', z.object({ n: z.number() })), (e: unknown) => {
    assert.ok(e instanceof StoredObjectInvalidError);
    assert.match(e.message, /n: /);
    return true;
  });
});

test('a 12 MB stream of unknown size goes up as multipart and comes back byte for byte', async () => {
  const data = randomBytes(12 * 1024 * 1024 + 123);
  // Odd-sized chunks so parts are cut across chunk boundaries.
  const chunks = Array.from({ length: Math.ceil(data.length / 777_777) }, (_, i) =>
    data.subarray(i * 777_777, (i + 1) * 777_777),
  );
  const put = await bucket.putStream('t/big.bin', Readable.from(chunks), {
    contentType: 'application/octet-stream',
    partSize: 5 * 1024 * 1024,
  });
  assert.equal(put.size, data.length);
  const hash = createHash('sha256');
  for await (const chunk of await bucket.getStream('t/big.bin')) hash.update(chunk as Buffer);
  assert.equal(hash.digest('hex'), createHash('sha256').update(data).digest('hex'));
  const stat = await bucket.stat('t/big.bin');
  assert.equal(stat.size, data.length);
  assert.equal(stat.contentType, 'application/octet-stream');
});

test('a short stream becomes one plain PUT; an empty stream an empty object', async () => {
  const put = await bucket.putStream('t/small.txt', Readable.from([Buffer.from('ab'), Buffer.from('c')]));
  assert.equal(put.size, 3);
  assert.doesNotMatch(put.etag, /-/);
  assert.equal((await bucket.getBuffer('t/small.txt')).toString(), 'abc');
  await bucket.putStream('t/empty', Readable.from([]));
  assert.equal((await bucket.stat('t/empty')).size, 0);
});

test('listing walks continuation pages in key order, after a start key', async () => {
  const names = ['l/a/1', 'l/a/2', 'l/b/1', 'l/c', 'l/d', 'l/e/x/y', 'l/e/z'];
  await Promise.all(names.map((n) => bucket.putBuffer(n, n)));
  const all: string[] = [];
  for await (const o of bucket.list('l/', { pageSize: 2 })) all.push(o.key);
  assert.deepEqual(all, names);
  const rest: string[] = [];
  for await (const o of bucket.list('l/', { pageSize: 2, startAfter: 'l/b/1' })) rest.push(o.key);
  assert.deepEqual(rest, ['l/c', 'l/d', 'l/e/x/y', 'l/e/z']);
  assert.deepEqual(await bucket.listPrefixes('l/'), ['l/a/', 'l/b/', 'l/e/']);
  assert.equal(await bucket.deletePrefix('l/a/'), 2);
  assert.equal(await bucket.exists('l/a/1'), false);
  assert.equal(await bucket.exists('l/b/1'), true);
});

test('a presigned URL fetches the object without credentials', async () => {
  await bucket.putBuffer('t/presigned.txt', 'hello presign', { contentType: 'text/plain' });
  const url = await bucket.presignGet('t/presigned.txt', 60);
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'hello presign');
  assert.equal(new URL(url).searchParams.get('X-Amz-Expires'), '60');
  // (s3rver does not check SigV4 signatures, so a tampered URL cannot be tested against it.)
});

test('copy replaces the destination server-side and leaves the source; delete removes a key, missing or not', async () => {
  await bucket.putJson('p/manifest.json', { version: 1 });
  await bucket.putJson('p/copy.json', { version: 0 });
  await bucket.copy('p/manifest.json', 'p/copy.json');
  assert.deepEqual(await bucket.getJson('p/copy.json'), { version: 1 });
  assert.deepEqual(await bucket.getJson('p/manifest.json'), { version: 1 });
  await bucket.delete('p/copy.json');
  assert.equal(await bucket.exists('p/copy.json'), false);
  // As in S3: deleting what is already gone succeeds, so a retried or repeated cleanup never fails.
  await bucket.delete('p/copy.json');
  await assert.rejects(bucket.copy('p/missing.json', 'p/copy.json'), ObjectNotFoundError);
  assert.equal(await bucket.exists('p/copy.json'), false);
});

test('a JSON put checks its schema before writing anything', async () => {
  const Schema = z.object({ version: z.number() });
  await assert.rejects(bucket.putJson('p/strict.json', { version: 'x' } as never, Schema));
  await assert.rejects(bucket.putJsonIfAbsent('p/strict.json', { version: 'x' } as never, Schema));
  assert.equal(await bucket.exists('p/strict.json'), false);
});

test('objects survive a restart of the embedded server on the same folder', async () => {
  const d = await mkdtemp(join(tmpdir(), 'mmit-restart-'));
  try {
    const first = await startEmbeddedS3({ dir: d, buckets: ['keep'] });
    const b1 = new Bucket(embeddedS3Config(first, 'keep'));
    await b1.putJson('k.json', { kept: true });
    await first.stop();
    const second = await startEmbeddedS3({ dir: d });
    const b2 = new Bucket(embeddedS3Config(second, 'keep'));
    assert.deepEqual(await b2.getJson('k.json'), { kept: true });
    await second.stop();
  } finally {
    await rm(d, { recursive: true, force: true });
  }
});

test('a stopped server gives StorageUnavailableError naming endpoint, op and key, after retries', async () => {
  const d = await mkdtemp(join(tmpdir(), 'mmit-down-'));
  const server = await startEmbeddedS3({ dir: d, buckets: ['down'] });
  const b = new Bucket({
    ...embeddedS3Config(server, 'down'),
    retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 10 },
  });
  await b.putJson('x.json', {});
  await server.stop();
  try {
    await assert.rejects(b.getJson('x.json'), (e: unknown) => {
      assert.ok(e instanceof StorageUnavailableError, String(e));
      assert.equal(e.attempts, 3);
      assert.equal(e.key, 'x.json');
      assert.match(e.message, new RegExp(server.endpoint.replace(/[.]/g, '\\.')));
      assert.match(e.message, /ECONNREFUSED/);
      return true;
    });
  } finally {
    await rm(d, { recursive: true, force: true });
  }
});

test('reads right after writes, and reads racing overwrites, always see a whole object', async () => {
  const big = (v: number) => ({ v, pad: 'x'.repeat(100_000 + v) });
  for (let v = 0; v < 30; v++) {
    await bucket.putJson('race/after-write.json', big(v));
    assert.equal(((await bucket.getJson('race/after-write.json')) as { v: number }).v, v);
  }
  // Two writers and four readers on one key, with no retries to hide a failed read: unpatched,
  // s3rver answered a quarter of such reads with 500 (metadata.json parsed mid-rewrite).
  const once = new Bucket({ ...store.config, retry: { retries: 0, baseDelayMs: 5, maxDelayMs: 20 } });
  await bucket.putJson('race/overwritten.json', big(0));
  let writing = true;
  const writers = Promise.all(
    [1, 2].map(async (first) => {
      for (let v = first; v < 120; v += 2) await bucket.putJson('race/overwritten.json', big(v));
    }),
  ).finally(() => {
    writing = false;
  });
  let reads = 0;
  const readers = [1, 2, 3, 4].map(async () => {
    while (writing) {
      const value = (await once.getJson('race/overwritten.json')) as { v: number; pad: string };
      assert.equal(value.pad.length, 100_000 + value.v);
      reads++;
    }
  });
  try {
    await Promise.all(readers);
  } finally {
    await writers;
  }
  assert.ok(reads > 0);
});
