// Crash safety: the service runs as a child process, is killed with SIGKILL while a job is
// writing shards, and is started again. The job resumes (attempt 2) and finishes; what was
// published before the kill is reused, no item is stored twice, and every index entry points at
// a shard that exists and passes its checksum.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FeatureJobResult, JobRecord } from '@mmit/contracts';
import { keys } from '@mmit/contracts';
import { FeatureIndex, parseSafetensorsHeader, verifyEntries } from '@mmit/features';
import type { Bucket } from '@mmit/storage';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { fixture, repoRoot } from '../../../test/paths.js';
import { noisePng, writeCorpus } from './testing/corpus.js';
import { getJson, postJson, waitForJob } from './testing/http.js';

const BATCH = 2;
const IMAGES = 120;

let store: TestStore;
let bucket: Bucket;
const children = new Set<ChildProcess>();

before(async () => {
  store = await startTestStore({ name: 'features-restart' });
  bucket = store.bucket;
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await store?.stop();
});

/** Starts `main.ts` in a child process; resolves with its URL once it prints it. */
function startChild(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'services/features/src/main.ts')],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...store.env,
        MMIT_FEATURES_PORT: '0',
        MMIT_FEATURES_BATCH_SIZE: String(BATCH),
        MMIT_FEATURES_THREADS: '1',
        // As the launcher names replicas: a restart under the same name takes its jobs back at once.
        MMIT_REPLICA_ID: 'features-0',
        MMIT_LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  child.on('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d) => {
      err += d;
    });
    child.stdout?.on('data', (d) => {
      out += d;
      const match = /features listening (\S+)/.exec(out);
      if (match) resolve({ child, url: match[1] });
    });
    child.on('exit', (code) => reject(new Error(`service exited (${code}) before listening: ${err}`)));
  });
}

async function segmentCount(encoderKeyPrefix: string): Promise<number> {
  let n = 0;
  for await (const obj of bucket.list(encoderKeyPrefix)) if (obj.key.includes('/index/')) n++;
  return n;
}

test('kill -9 mid-job, restart: the job resumes, reuses its shards, stores nothing twice, and the index is consistent', async () => {
  const media = await Promise.all(
    Array.from({ length: IMAGES }, (_, i) => noisePng(16 + (i % 9), 16 + (i % 7), i)),
  );
  const { corpusId, items } = await writeCorpus(bucket, media);
  const first = await startChild();
  const submitted = await postJson<JobRecord>(`${first.url}/v1/features/jobs`, {
    corpusId,
    encoder: { checkpoint: fixture('tiny-clip-vision') },
  });
  assert.equal(submitted.status, 202);

  // Kill as soon as a few shards are published, so the job is surely mid-way.
  let published = 0;
  const deadline = Date.now() + 60_000;
  while (published < 3) {
    if (Date.now() > deadline) throw new Error('no shard published within 60 s');
    published = await segmentCount('features/');
    await new Promise((r) => setTimeout(r, 5));
  }
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  const prefix = (await bucket.listPrefixes('features/'))[0];
  const atKill = await segmentCount(prefix);
  const beforeRestart = await bucket.getJson(`jobs/features/${submitted.body.id}.json`);
  assert.equal(
    (beforeRestart as JobRecord).status,
    'running',
    'the job must still be unfinished when killed',
  );
  assert.ok(atKill * BATCH < IMAGES, `only ${atKill} shards were written before the kill`);
  const shardsAtKill = new Map<string, string>();
  for await (const obj of bucket.list(`${prefix}shards/`)) shardsAtKill.set(obj.key, obj.etag);

  const second = await startChild();
  const record = await waitForJob(second.url, submitted.body.id, 120_000);
  assert.equal(record.status, 'succeeded', JSON.stringify(record.error));
  const result = record.result as FeatureJobResult;
  assert.equal(result.hits + result.computed, IMAGES);
  // Units published before the kill are counted, not computed and written again.
  for await (const obj of bucket.list(`${prefix}shards/`)) {
    if (shardsAtKill.has(obj.key))
      assert.equal(obj.etag, shardsAtKill.get(obj.key), `${obj.key} was rewritten`);
  }
  assert.equal(result.shardsWritten, Math.ceil(IMAGES / BATCH), 'one shard per unit, each once');

  // No item stored twice, across all shards of both attempts (orphans included).
  const stored = new Map<string, number>();
  for await (const obj of bucket.list(keys.featureShardsPrefix(result.encoderKey))) {
    const header = parseSafetensorsHeader(await bucket.getBuffer(obj.key));
    for (const name of Object.keys(header.placements)) stored.set(name, (stored.get(name) ?? 0) + 1);
  }
  assert.equal(stored.size, IMAGES);
  assert.deepEqual([...new Set(stored.values())], [1]);

  // Every item is indexed, and every index entry verifies against an existing shard.
  const index = new FeatureIndex(bucket, result.encoderKey);
  await index.refresh();
  assert.deepEqual(
    new Set([...index.all()].map((e) => e.sha256)),
    new Set(items.map((i) => i.media!.sha256)),
  );
  const verdict = await verifyEntries(bucket, index, [...index.all()]);
  assert.equal(verdict.corrupt.length, 0);
  const stats = await getJson<{ items: number }>(`${second.url}/v1/features/${result.encoderKey}`);
  assert.equal(stats.items, IMAGES);
  second.child.kill('SIGTERM');
});
