// Integration tests of import jobs: server-local paths and uploaded archives, hostile entries,
// 10,000 entries in bounded memory, a cut-off upload, and the S3 server stopping mid-import.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeTar, makeZip } from './testing/archives.js';
import { NOT_UTF8 } from './testing/collect.js';
import { type Harness, jpeg, json, startHarness, waitForJob } from './testing/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => h?.close());

async function createCorpus(name: string): Promise<string> {
  const res = await fetch(`${h.url}/v1/corpora`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, options: { thumbnailSide: 0 } }),
  });
  return (await json<{ id: string }>(res)).id;
}

async function importJson(corpusId: string, body: unknown) {
  const res = await fetch(`${h.url}/v1/corpora/${corpusId}/imports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await json<{ id: string; code?: string; detail?: string }>(res) };
}

async function importArchive(corpusId: string, format: string, archive: Buffer, name: string) {
  const form = new FormData();
  form.append('format', format);
  form.append('archive', new Blob([archive]), name);
  const res = await fetch(`${h.url}/v1/corpora/${corpusId}/imports`, { method: 'POST', body: form });
  assert.equal(res.status, 202, await res.clone().text());
  return (await json<{ id: string }>(res)).id;
}

type Summary = {
  entries: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
};

test('a server-local folder with sidecars imports as a job; paths outside the roots are refused', async () => {
  const folder = join(h.importRoot, 'folder');
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'a.jpg'), await jpeg(320, 240, 1));
  await writeFile(join(folder, 'a.txt'), 'one\ntwo\n');
  await writeFile(join(folder, 'b.jpg'), await jpeg(320, 240, 2));
  await writeFile(join(folder, 'b.txt'), NOT_UTF8);
  const id = await createCorpus('local folder');
  const started = await importJson(id, { format: 'folder', source: { type: 'path', path: folder } });
  assert.equal(started.status, 202);
  const job = await waitForJob(h.url, started.body.id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  const summary = job.result as Summary;
  assert.equal(summary.accepted, 1);
  assert.deepEqual(summary.rejectedByReason, { invalid_caption: 1 });

  const outside = await importJson(id, { format: 'folder', source: { type: 'path', path: '/etc' } });
  assert.equal(outside.status, 400);
  assert.match(
    outside.body.detail ?? '',
    /outside the folders this service may import from \(MMIT_INGEST_IMPORT_ROOTS\)/,
  );
  assert.ok(!(outside.body.detail ?? '').includes(h.importRoot), 'the roots are server paths: not shown');
  // Inside the roots but missing: a 404 at once, not a failed job; outside and missing: the same
  // 400 as outside and present, so nothing is learnt about paths outside the roots.
  const missing = await importJson(id, {
    format: 'folder',
    source: { type: 'path', path: join(h.importRoot, 'nope') },
  });
  assert.equal(missing.status, 404, JSON.stringify(missing.body));
  const elsewhere = await importJson(id, {
    format: 'folder',
    source: { type: 'path', path: '/nonexistent/x' },
  });
  assert.equal(elsewhere.status, 400);

  const again = await waitForJob(
    h.url,
    (await importJson(id, { format: 'folder', source: { type: 'path', path: folder } })).body.id,
  );
  const manifest = await json<{ counts: { accepted: number; rejected: number } }>(
    await fetch(`${h.url}/v1/corpora/${id}`),
  );
  assert.equal(again.status, 'succeeded');
  assert.deepEqual(
    [manifest.counts.accepted, manifest.counts.rejected],
    [1, 1],
    'rerunning adds nothing twice',
  );
});

test('uploaded tar and zip archives: unsafe entry names refused alone, symlinks ignored, nothing written outside', async () => {
  const image = await jpeg(200, 150, 5);
  const entries = [
    { name: 'ok.jpg', data: image },
    { name: 'ok.txt', data: 'fine' },
    { name: '../../etc/passwd', data: 'root:x:0:0' },
    { name: '/tmp/absolute.jpg', data: image },
    { name: 'link.jpg', symlinkTo: '/etc/passwd' },
  ];
  for (const [format, archive, name] of [
    ['tar', await makeTar(entries), 'x.tar'],
    ['zip', makeZip(entries), 'x.zip'],
  ] as const) {
    const id = await createCorpus(`archive ${format}`);
    const job = await waitForJob(h.url, await importArchive(id, format, archive, name));
    assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
    const summary = job.result as Summary & { notAccepted: { source: string; error?: { type: string } }[] };
    assert.equal(summary.accepted, 1, format);
    assert.deepEqual(summary.rejectedByReason, { unsafe_path: 2 }, format);
    assert.deepEqual(summary.notAccepted.map((o) => o.source).sort(), [
      '../../etc/passwd',
      '/tmp/absolute.jpg',
    ]);
  }
});

test('an archive of 10,000 entries streams through in bounded memory', async () => {
  const id = await createCorpus('ten thousand');
  // The same small image under 10,000 names: one decode and store, then 9,999 duplicates, so
  // the test exercises streaming and bookkeeping at scale rather than the image pipeline.
  const tiny = await jpeg(16, 16, 7);
  const entries = [];
  for (let i = 0; i < 10_000; i++) {
    entries.push(
      { name: `e/${String(i).padStart(5, '0')}.jpg`, data: tiny },
      { name: `e/${String(i).padStart(5, '0')}.txt`, data: `caption ${i}` },
    );
  }
  const archive = await makeTar(entries);
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const job = await waitForJob(h.url, await importArchive(id, 'webdataset', archive, 'big.tar'), 240_000);
  clearInterval(sampler);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  const summary = job.result as Summary;
  assert.equal(summary.entries, 10_000);
  assert.deepEqual([summary.accepted, summary.duplicate, summary.rejected], [1, 9_999, 0]);
  const page = await json<{ items: { captions: string[] }[] }>(
    await fetch(`${h.url}/v1/corpora/${id}/items?limit=1000`),
  );
  assert.equal(page.items.length, 1000);
  const growthMb = (peak - rssBefore) / 2 ** 20;
  console.log(
    `10,000-entry import: archive ${(archive.length / 2 ** 20).toFixed(1)} MB, RSS growth ${growthMb.toFixed(0)} MB`,
  );
  assert.ok(growthMb < 400, `RSS grew ${growthMb.toFixed(0)} MB`);
});

test('an upload cut off mid-way keeps the files already received and reports the cut-off one', async () => {
  const id = await createCorpus('cut off');
  const boundary = 'cutBOUNDARY';
  const first = await jpeg(120, 90, 11);
  const second = await jpeg(120, 90, 12);
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="whole.jpg"\r\n\r\n`),
    first,
    Buffer.from(
      `\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.jpg"\r\n\r\n`,
    ),
    second.subarray(0, second.length / 2),
  ]);
  // The client ends its (chunked) body early: no closing boundary ever arrives.
  const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(`${h.url}/v1/corpora/${id}/items`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
  const outcomes = (
    JSON.parse(response.text) as { outcomes: { source: string; status: string; error?: { type: string } }[] }
  ).outcomes;
  assert.deepEqual(
    outcomes.map((o) => [o.source, o.status, o.error?.type]),
    [
      ['whole.jpg', 'accepted', undefined],
      ['half.jpg', 'rejected', 'upload_incomplete'],
    ],
  );
  const manifest = await json<{ counts: { accepted: number } }>(await fetch(`${h.url}/v1/corpora/${id}`));
  assert.equal(manifest.counts.accepted, 1);
});
