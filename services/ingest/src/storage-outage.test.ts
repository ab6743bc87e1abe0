// The S3 server stops in the middle of an import for longer than the bucket's own retries: the
// job waits it out (its progress says so), carries on when the store is back, and ends with
// every item once; a restart of the service mid-import resumes the job in the new process.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Harness, jpeg, json, startHarness, waitForJob } from './testing/harness.js';

let h: Harness;
before(async () => {
  // Publish often, so part of the import is durable before the outage.
  h = await startHarness({ MMIT_INGEST_CONCURRENCY: '2', MMIT_JOB_LEASE_SEC: '3' });
});
after(async () => h?.close());

const COUNT = 150;

test('S3 stopped mid-import: the job waits for storage, then finishes with every item once', async () => {
  const folder = join(h.importRoot, 'outage');
  await mkdir(folder, { recursive: true });
  for (let i = 0; i < COUNT; i++) {
    await writeFile(join(folder, `img-${String(i).padStart(3, '0')}.jpg`), await jpeg(96, 72, i));
    await writeFile(join(folder, `img-${String(i).padStart(3, '0')}.txt`), `image ${i}`);
  }
  const create = await fetch(`${h.url}/v1/corpora`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'outage', options: { thumbnailSide: 0 } }),
  });
  const corpusId = (await json<{ id: string }>(create)).id;
  const started = await fetch(`${h.url}/v1/corpora/${corpusId}/imports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ format: 'folder', source: { type: 'path', path: folder } }),
  }).then((r) => json<{ id: string }>(r));

  for (;;) {
    const job = await json<{ progress?: { done: number }; status: string }>(
      await fetch(`${h.url}/v1/jobs/${started.id}`),
    );
    assert.ok(job.status === 'queued' || job.status === 'running', `the import ended early: ${job.status}`);
    if ((job.progress?.done ?? 0) >= 20) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  await h.stopS3();
  // The replica that runs the job answers from memory while the store is down.
  let waiting: { status: string; progress: { message?: string } } | undefined;
  for (let i = 0; i < 200 && !/waiting for storage/.test(waiting?.progress?.message ?? ''); i++) {
    waiting = await json(await fetch(`${h.url}/v1/jobs/${started.id}`));
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(waiting?.status, 'running');
  assert.match(waiting?.progress.message ?? '', /waiting for storage/);
  // Longer than the bucket's retries and than a lease: nothing may give up or take over meanwhile.
  await new Promise((r) => setTimeout(r, 5_000));
  await h.startS3();

  const done = await waitForJob(h.url, started.id, 120_000);
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  assert.ok((done.attempt as number) >= 2, 'the import ran again from its checkpoint after the outage');
  assert.equal((done.result as { entries: number }).entries, COUNT, 'each entry counted once');
  const manifest = await json<{ counts: { accepted: number; duplicate: number; rejected: number } }>(
    await fetch(`${h.url}/v1/corpora/${corpusId}`),
  );
  assert.deepEqual(
    [manifest.counts.accepted, manifest.counts.duplicate, manifest.counts.rejected],
    [COUNT, 0, 0],
  );
  const items = await json<{ items: { id: string }[] }>(
    await fetch(`${h.url}/v1/corpora/${corpusId}/items?limit=1000`),
  );
  assert.equal(items.items.length, COUNT);
  assert.equal(new Set(items.items.map((i) => i.id)).size, COUNT);
});

test('a service restarted mid-import carries the job on in the new process and adds nothing twice', async () => {
  const folder = join(h.importRoot, 'restart');
  await mkdir(folder, { recursive: true });
  for (let i = 0; i < COUNT; i++) {
    await writeFile(join(folder, `r-${String(i).padStart(3, '0')}.jpg`), await jpeg(96, 72, 500 + i));
  }
  const create = await fetch(`${h.url}/v1/corpora`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'restart', options: { thumbnailSide: 0 } }),
  });
  const corpusId = (await json<{ id: string }>(create)).id;
  const started = await fetch(`${h.url}/v1/corpora/${corpusId}/imports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ format: 'folder', source: { type: 'path', path: folder } }),
  }).then((r) => json<{ id: string }>(r));
  for (;;) {
    const job = await json<{ progress?: { done: number } }>(await fetch(`${h.url}/v1/jobs/${started.id}`));
    if ((job.progress?.done ?? 0) >= 20) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  await h.restartService();
  const job = await waitForJob(h.url, started.id, 120_000);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  const manifest = await json<{ counts: { accepted: number; duplicate: number } }>(
    await fetch(`${h.url}/v1/corpora/${corpusId}`),
  );
  assert.deepEqual([manifest.counts.accepted, manifest.counts.duplicate], [COUNT, 0]);
  assert.equal((job.result as { entries: number }).entries, COUNT, 'the summary continues across attempts');
});
