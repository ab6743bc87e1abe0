// The S3 server stops in the middle of an import: the job fails with `storage_unavailable`, what
// was published before stays, and rerunning the import (with S3 back) adds nothing twice.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Harness, jpeg, json, startHarness, waitForJob } from './testing/harness.js';

let h: Harness;
before(async () => {
  // Publish often, so part of the import is durable before the outage.
  h = await startHarness({ MMIT_INGEST_CONCURRENCY: '2' });
});
after(async () => h?.close());

const COUNT = 150;

test('S3 stopped mid-import: the job fails clearly, accepted items stay, the rerun adds nothing twice', async () => {
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
  const start = () =>
    fetch(`${h.url}/v1/corpora/${corpusId}/imports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ format: 'folder', source: { type: 'path', path: folder } }),
    }).then((r) => json<{ id: string }>(r));

  const first = await start();
  for (;;) {
    const job = await json<{ progress?: { done: number }; status: string }>(
      await fetch(`${h.url}/v1/jobs/${first.id}`),
    );
    if ((job.progress?.done ?? 0) >= 20 || job.status !== 'running') break;
    await new Promise((r) => setTimeout(r, 10));
  }
  await h.stopS3();
  const failed = await waitForJob(h.url, first.id);
  assert.equal(failed.status, 'failed');
  const error = failed.error as { code: string; detail: string };
  assert.equal(error.code, 'storage_unavailable');
  assert.match(error.detail, /unavailable/);

  await h.startS3();
  const before = await json<{ counts: { accepted: number } }>(await fetch(`${h.url}/v1/corpora/${corpusId}`));
  assert.ok(before.counts.accepted < COUNT, 'the outage stopped the import part-way');

  const rerun = await waitForJob(h.url, (await start()).id, 120_000);
  assert.equal(rerun.status, 'succeeded', JSON.stringify(rerun.error));
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

test('a service restarted mid-import resumes the job from its checkpoint and adds nothing twice', async () => {
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
  assert.equal(job.attempt, 2, 'the job ran a second time, in the new process');
  const manifest = await json<{ counts: { accepted: number; duplicate: number } }>(
    await fetch(`${h.url}/v1/corpora/${corpusId}`),
  );
  assert.deepEqual([manifest.counts.accepted, manifest.counts.duplicate], [COUNT, 0]);
  assert.equal((job.result as { entries: number }).entries, COUNT, 'the summary continues across attempts');
});
