// The resumable upload protocol against a real service over the embedded S3 server: parts checked
// against their Content-Digest, listed back for resuming, completed only when whole, and the
// upload (object and session records) deleted once the import that used it has ended.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { keys } from '@mmit/contracts';
import { makeTar } from './testing/archives.js';
import { type Harness, jpeg, json, startHarness, waitForJob } from './testing/harness.js';

const PART = 5 * 1024 * 1024;
let h: Harness;
before(async () => {
  h = await startHarness({ MMIT_INGEST_UPLOAD_PART_BYTES: String(PART) });
});
after(async () => h?.close());

type Session = {
  id: string;
  key: string;
  partBytes: number;
  state: string;
  parts: { n: number; sha256: string }[];
  size?: number;
};

const digest = (bytes: Buffer) => `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`;

async function putPart(id: string, n: number, bytes: Buffer, contentDigest = digest(bytes)) {
  return fetch(`${h.url}/v1/uploads/${id}/parts/${n}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-digest': contentDigest },
    body: bytes,
  });
}

async function post(path: string, body: unknown) {
  return fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

test('parts are checked, listed for resuming, completed whole, and the upload is gone after its import', async () => {
  const archive = await makeTar([
    { name: 'metadata.jsonl', data: '{"file_name": "a.jpg", "text": "a picture"}\n' },
    { name: 'a.jpg', data: await jpeg(64, 48, 3) },
    // Padding that no row names and no importer reads: it makes the archive three parts long.
    { name: 'padding.bin', data: randomBytes(2 * PART + 1000) },
  ]);
  const parts = [0, 1, 2].map((n) => archive.subarray(n * PART, (n + 1) * PART));

  const created = await post('/v1/uploads', { filename: 'hf.tar' });
  assert.equal(created.status, 201);
  const session = await json<Session>(created);
  assert.equal(session.partBytes, PART);

  // A part damaged on the way is refused, not stored.
  const damaged = await putPart(session.id, 1, parts[0], digest(Buffer.from('other bytes')));
  assert.equal(damaged.status, 400);
  assert.match((await json<{ detail: string }>(damaged)).detail, /do not match Content-Digest/);
  // Parts arrive in any order; completing before all are there names the missing one.
  assert.equal((await putPart(session.id, 3, parts[2])).status, 200);
  assert.equal((await putPart(session.id, 1, parts[0])).status, 200);
  const early = await post(`/v1/uploads/${session.id}/complete`, { parts: 3 });
  assert.equal(early.status, 400);
  const problem = await json<{ detail: string; item: { index: number } }>(early);
  assert.deepEqual(problem.item, { index: 2 });
  // What a resuming client sees: the parts held, with their sha256.
  const listed = await json<Session>(await fetch(`${h.url}/v1/uploads/${session.id}`));
  assert.deepEqual(
    listed.parts.map((p) => p.n),
    [1, 3],
  );
  assert.equal(listed.parts[0].sha256, createHash('sha256').update(parts[0]).digest('hex'));
  // A part over the part size is refused.
  assert.equal((await putPart(session.id, 2, Buffer.concat([parts[1], Buffer.from('x')]))).status, 413);
  assert.equal((await putPart(session.id, 2, parts[1])).status, 200);
  const done = await json<Session>(await post(`/v1/uploads/${session.id}/complete`, { parts: 3 }));
  assert.equal(done.state, 'complete');
  assert.equal(done.size, archive.length);
  assert.ok((await h.bucket.getBuffer(done.key)).equals(archive), 'the object is the bytes sent');
  assert.equal((await putPart(session.id, 1, parts[0])).status, 409, 'a complete upload takes no parts');

  const corpus = await json<{ id: string }>(
    await post('/v1/corpora', { name: 'uploaded', options: { thumbnailSide: 0 } }),
  );
  const started = await post(`/v1/corpora/${corpus.id}/imports`, {
    format: 'hf-folder',
    source: { type: 'upload', key: done.key },
  });
  assert.equal(started.status, 202, await started.clone().text());
  const job = await waitForJob(h.url, (await json<{ id: string }>(started)).id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  assert.equal((job.result as { accepted: number }).accepted, 1);
  const left = [];
  for await (const object of h.bucket.list(keys.uploadPrefix(session.id))) left.push(object.key);
  assert.deepEqual(left, [], 'the upload and its session records are deleted after the import');
  assert.equal((await fetch(`${h.url}/v1/uploads/${session.id}`)).status, 404);
});

test('bad upload requests are refused with a problem naming the field', async () => {
  const bad = await post('/v1/uploads', { filename: '../escape.tar' });
  assert.equal(bad.status, 400);
  assert.equal((await fetch(`${h.url}/v1/uploads/not-an-id`)).status, 400);
  const session = await json<Session>(await post('/v1/uploads', { filename: 'x.tar' }));
  assert.equal((await putPart(session.id, 1, Buffer.from('abc'), 'md5=:xyz:')).status, 400);
  assert.equal((await fetch(`${h.url}/v1/uploads/${session.id}`, { method: 'DELETE' })).status, 204);
  assert.equal((await fetch(`${h.url}/v1/uploads/${session.id}`)).status, 404);
});
