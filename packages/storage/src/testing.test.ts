// The test store: the embedded server by default, and the endpoint MMIT_S3_* name when one is set,
// with a bucket of its own that stop() removes. A second embedded server stands in for the "real"
// endpoint here: it is a separate S3 server reached only through the environment's URL and keys.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Bucket, createS3Client } from './bucket.js';
import { type EmbeddedS3, embeddedS3Config, startEmbeddedS3 } from './embedded.js';
import { startTestStore } from './testing.js';

let remoteDir: string;
let remote: EmbeddedS3;

before(async () => {
  remoteDir = await mkdtemp(join(tmpdir(), 'mmit-testing-remote-'));
  remote = await startEmbeddedS3({ dir: join(remoteDir, 's3'), port: 0 });
});

after(async () => {
  await remote.stop();
  await rm(remoteDir, { recursive: true, force: true });
});

const remoteEnv = () => ({
  MMIT_S3_ENDPOINT: remote.endpoint,
  MMIT_S3_ACCESS_KEY: remote.accessKey,
  MMIT_S3_SECRET_KEY: remote.secretKey,
});

async function bucketsOf(server: EmbeddedS3): Promise<string[]> {
  const buckets = await createS3Client(embeddedS3Config(server)).listBuckets();
  return buckets.map((b) => b.name).sort();
}

test('without MMIT_S3_ENDPOINT: an embedded server in a scratch folder, its bucket created, all gone after stop', async () => {
  const store = await startTestStore({ name: 'testing-embedded', bucket: 'own-bucket', env: {} });
  assert.ok(store.embedded, 'the embedded server');
  assert.equal(store.config.endpoint, store.embedded.endpoint);
  assert.equal(store.config.bucket, 'own-bucket');
  assert.equal(store.embedded.dir, join(store.dir, 's3'));
  await store.bucket.putJson('a.json', { n: 1 });
  // What a service started as a child process would be given reaches the same bucket.
  const child = Bucket.fromEnv(store.env);
  assert.deepEqual(await child.getJson('a.json'), { n: 1 });
  await store.stop();
  assert.equal(existsSync(store.dir), false, 'the scratch folder is removed');
  await assert.rejects(fetch(store.config.endpoint), TypeError, 'the server is stopped');
});

test('with MMIT_S3_ENDPOINT: that endpoint, a fresh bucket named from MMIT_S3_TEST_BUCKET, emptied and removed by stop', async () => {
  const before = await bucketsOf(remote);
  const env = { ...remoteEnv(), MMIT_S3_TEST_BUCKET: 'ci-run', MMIT_S3_BUCKET: 'production' };
  const first = await startTestStore({ name: 'Testing External', bucket: 'ignored-there', env });
  const second = await startTestStore({ name: 'testing-external', env });
  try {
    assert.equal(first.embedded, undefined, 'no embedded server of its own');
    assert.equal(first.config.endpoint, remote.endpoint);
    assert.match(first.config.bucket, /^ci-run-testing-external-[0-9a-f]{8}$/);
    assert.notEqual(first.config.bucket, second.config.bucket, 'each store has its own bucket');
    assert.equal(first.env.MMIT_S3_BUCKET, first.config.bucket, 'never the services’ MMIT_S3_BUCKET');
    await first.bucket.putJson('k.json', { from: 'first' });
    await first.bucket.putBuffer('deep/er/key', 'x');
    assert.equal(await second.bucket.exists('k.json'), false, 'stores do not see each other');
    const onServer = new Bucket({ ...embeddedS3Config(remote), bucket: first.config.bucket });
    assert.deepEqual(await onServer.getJson('k.json'), { from: 'first' });
  } finally {
    await first.stop();
    await second.stop();
  }
  assert.deepEqual(await bucketsOf(remote), before, 'both buckets are removed, objects and all');
  assert.equal(existsSync(first.dir), false);
});

test('with MMIT_S3_ENDPOINT but no keys: the missing variables are named', async () => {
  await assert.rejects(
    startTestStore({ name: 'testing-keyless', env: { MMIT_S3_ENDPOINT: remote.endpoint } }),
    /MMIT_S3_ACCESS_KEY[\s\S]*MMIT_S3_SECRET_KEY/,
  );
});
