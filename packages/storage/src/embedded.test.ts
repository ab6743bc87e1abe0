// The embedded server behaves like S3 where mmit relies on it: only requests signed with its own
// keys get in, a body must match the hash its signature covers, and its keys belong to its data
// folder. The last test shows the start-up check refusing a server that ignores conditional writes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import S3rver from 's3rver';
import { Bucket, createS3Client } from './bucket.js';
import { type EmbeddedS3, embeddedCredentialsPath, embeddedS3Config, startEmbeddedS3 } from './embedded.js';
import { ConditionalWritesUnsupportedError, type StorageError } from './errors.js';

let root: string;
let s3: EmbeddedS3;
let bucket: Bucket;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'mmit-embedded-'));
  s3 = await startEmbeddedS3({ dir: join(root, 's3'), port: 0 });
  bucket = new Bucket({
    ...embeddedS3Config(s3, 'guarded'),
    retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 },
  });
  await bucket.ensure();
  await bucket.putBuffer('secret.txt', 'weights');
});

after(async () => {
  await s3.stop();
  await rm(root, { recursive: true, force: true });
});

/** The S3 error code of an XML error body. */
async function s3Code(response: Response): Promise<string | undefined> {
  return /<Code>([^<]+)<\/Code>/.exec(await response.text())?.[1];
}

test('unsigned requests are refused: nothing read, written, listed or deleted', async () => {
  const attempts: [string, string, string?][] = [
    ['GET', '/guarded/secret.txt'],
    ['HEAD', '/guarded/secret.txt'],
    ['GET', '/guarded?prefix='],
    ['GET', '/'],
    ['PUT', '/guarded/secret.txt', 'overwritten'],
    ['PUT', '/guarded/planted.txt', 'planted'],
    ['DELETE', '/guarded/secret.txt'],
    ['PUT', '/another-bucket'],
  ];
  for (const [method, path, body] of attempts) {
    const response = await fetch(`${s3.endpoint}${path}`, { method, body });
    assert.equal(response.status, 403, `${method} ${path}`);
    if (method !== 'HEAD') assert.equal(await s3Code(response), 'AccessDenied', `${method} ${path}`);
  }
  assert.equal((await bucket.getBuffer('secret.txt')).toString(), 'weights');
  assert.equal(await bucket.exists('planted.txt'), false);
});

test('a wrong secret or an unknown key is refused', async () => {
  const config = embeddedS3Config(s3, 'guarded');
  const noRetry = { retries: 0, baseDelayMs: 1, maxDelayMs: 1 };
  const wrongSecret = new Bucket({ ...config, secretKey: `${config.secretKey}x`, retry: noRetry });
  await assert.rejects(wrongSecret.getBuffer('secret.txt'), (err: Error) =>
    /SignatureDoesNotMatch/.test(
      String((err as StorageError).cause && (err.cause as { code?: string }).code),
    ),
  );
  const unknownKey = new Bucket({ ...config, accessKey: 'NOTAKEYOFTHISSERVER', retry: noRetry });
  await assert.rejects(unknownKey.putBuffer('x', 'y'), (err: Error) =>
    /InvalidAccessKeyId/.test(String((err.cause as { code?: string }).code)),
  );
  assert.equal(await bucket.exists('x'), false);
});

test('a body that differs from the hash its signature covers is refused and not stored', async () => {
  const client = createS3Client(embeddedS3Config(s3, 'guarded'));
  const signedFor = createHash('sha256').update('expected body').digest('hex');
  const send = (key: string) =>
    client.makeRequestStreamAsync(
      { method: 'PUT', bucketName: 'guarded', objectName: key, headers: { 'Content-Length': '13' } },
      Buffer.from('tampered body'),
      signedFor,
      [200],
      '',
    );
  await assert.rejects(
    send('tampered.txt'),
    (err: { code?: string }) => err.code === 'XAmzContentSHA256Mismatch',
  );
  assert.equal(await bucket.exists('tampered.txt'), false);
  await assert.rejects(
    send('secret.txt'),
    (err: { code?: string }) => err.code === 'XAmzContentSHA256Mismatch',
  );
  assert.equal((await bucket.getBuffer('secret.txt')).toString(), 'weights', 'the old object is intact');

  // A multipart part is checked the same way (and the request is answered, not left hanging).
  const uploadId = await client.initiateNewMultipartUpload('guarded', 'parted.bin', {});
  await assert.rejects(
    client.makeRequestStreamAsync(
      {
        method: 'PUT',
        bucketName: 'guarded',
        objectName: 'parted.bin',
        query: `partNumber=1&uploadId=${encodeURIComponent(uploadId)}`,
        headers: { 'Content-Length': '13' },
      },
      Buffer.from('tampered body'),
      signedFor,
      [200],
      '',
    ),
    (err: { code?: string }) => err.code === 'XAmzContentSHA256Mismatch',
  );
  // (s3rver answers MethodNotAllowed to an abort; its unfinished upload folder is harmless.)
  await client.abortMultipartUpload('guarded', 'parted.bin', uploadId).catch(() => {});
});

test('presigned GETs work until they expire, and only unaltered', async () => {
  const url = await bucket.presignGet('secret.txt', 2);
  assert.equal(await (await fetch(url)).text(), 'weights');
  const altered = url.replace('secret.txt', 'secret.txt2');
  assert.equal((await fetch(altered)).status, 403);
  await new Promise((r) => setTimeout(r, 3_100));
  const expired = await fetch(url);
  assert.equal(expired.status, 403);
  assert.equal(await s3Code(expired), 'AccessDenied');
});

test('keys are generated per data folder, kept private, and stable across restarts', async () => {
  const path = embeddedCredentialsPath(join(root, 's3'));
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const stored = JSON.parse(await readFile(path, 'utf8'));
  assert.equal(stored.accessKey, s3.accessKey);

  const other = await startEmbeddedS3({ dir: join(root, 'other'), port: 0 });
  const again = await startEmbeddedS3({ dir: join(root, 's3'), port: 0 });
  try {
    assert.notEqual(other.accessKey, s3.accessKey, 'another folder has other keys');
    assert.notEqual(other.secretKey, s3.secretKey);
    assert.equal(again.accessKey, s3.accessKey, 'the same folder keeps its keys');
    assert.equal(again.secretKey, s3.secretKey);
    // Keys of one folder open no other folder's server.
    const foreign = new Bucket({
      ...embeddedS3Config(other, 'guarded'),
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 },
    });
    await assert.rejects(foreign.ensure());
  } finally {
    await other.stop();
    await again.stop();
  }
});

test('a server that ignores conditional writes is refused at start-up, by name', async () => {
  // s3rver as shipped: it accepts If-None-Match and If-Match and enforces neither.
  const plain = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(root, 'plain') });
  const { port } = await plain.run();
  try {
    const unsafe = new Bucket({
      endpoint: `http://127.0.0.1:${port}`,
      accessKey: 'S3RVER',
      secretKey: 'S3RVER',
      bucket: 'plain',
      region: 'us-east-1',
    });
    await unsafe.ensure();
    await assert.rejects(unsafe.verifyConditionalWrites(), (err: Error) => {
      assert.ok(err instanceof ConditionalWritesUnsupportedError);
      assert.match(err.message, /does not enforce conditional writes/);
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      return true;
    });
  } finally {
    plain.httpServer?.closeAllConnections();
    await plain.close();
  }
});
