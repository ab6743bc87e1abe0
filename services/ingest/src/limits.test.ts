// Limits at ingest's door, with small settings so the edges are cheap to reach: caption length and
// count per item, form field size (never a silent cut), malformed `captions` fields, junk files,
// metadata depth in imported records, and key-bearing import fields fed the traversal spellings.
// Uploaded archives do not outlive their import, refused or finished.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { keys, newId, TRAVERSAL_SPELLINGS } from '@mmit/contracts';
import { makeTar } from './testing/archives.js';
import { type Harness, jpeg, json, startHarness, waitForJob } from './testing/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness({
    MMIT_INGEST_MAX_CAPTION_CHARS: '100',
    MMIT_INGEST_MAX_CAPTIONS_PER_ITEM: '3',
    MMIT_INGEST_MAX_FIELD_BYTES: '2048',
  });
});
after(async () => h?.close());

type Outcome = { status: string; error?: { type: string; detail: string } };
type Problem = { code: string; detail: string; errors?: { path: string }[] };

async function corpus(): Promise<string> {
  const res = await fetch(`${h.url}/v1/corpora`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'limits', options: { thumbnailSide: 0 } }),
  });
  return (await json<{ id: string }>(res)).id;
}

/** Uploads form parts in order (`file` parts get a distinct small JPEG each). */
async function upload(id: string, parts: [string, string][]) {
  const form = new FormData();
  let seed = 0;
  for (const [name, value] of parts) {
    if (name === 'file')
      form.append('file', new Blob([await jpeg(64, 64, ++seed + Math.random() * 1000)]), value);
    else form.append(name, value);
  }
  const res = await fetch(`${h.url}/v1/corpora/${id}/items`, { method: 'POST', body: form });
  return { status: res.status, body: await json<{ outcomes: Outcome[] } & Problem>(res) };
}

async function storedCaptions(id: string): Promise<string[][]> {
  const page = await json<{ items: { captions: string[] }[] }>(
    await fetch(`${h.url}/v1/corpora/${id}/items`),
  );
  return page.items.map((i) => i.captions);
}

async function uploadsLeft(): Promise<number> {
  let n = 0;
  for await (const _ of h.bucket.list('uploads/')) n++;
  return n;
}

test('a caption at the limit is kept whole; one character more rejects its item, naming the setting', async () => {
  const id = await corpus();
  const res = await upload(id, [
    ['caption', 'a'.repeat(100)],
    ['file', 'ok.jpg'],
    ['caption', 'b'.repeat(101)],
    ['file', 'long.jpg'],
    ['caption', '1'],
    ['caption', '2'],
    ['caption', '3'],
    ['caption', '4'],
    ['file', 'many.jpg'],
  ]);
  assert.equal(res.status, 200);
  const [ok, long, many] = res.body.outcomes;
  assert.equal(ok.status, 'accepted');
  assert.equal(long.error?.type, 'payload_too_large');
  assert.match(
    long.error?.detail ?? '',
    /101 characters; the limit is 100 \(MMIT_INGEST_MAX_CAPTION_CHARS\)/,
  );
  assert.equal(many.error?.type, 'payload_too_large');
  assert.match(many.error?.detail ?? '', /4 captions; the limit is 3 \(MMIT_INGEST_MAX_CAPTIONS_PER_ITEM\)/);
  // Kept whole, and the refused text not kept at all.
  assert.deepEqual((await storedCaptions(id)).sort(), [[], [], ['a'.repeat(100)]].sort());
});

test('a form field over MMIT_INGEST_MAX_FIELD_BYTES is refused, never cut', async () => {
  const id = await corpus();
  const caption = await upload(id, [
    ['caption', 'c'.repeat(3000)],
    ['file', 'x.jpg'],
  ]);
  assert.equal(caption.body.outcomes[0].error?.type, 'payload_too_large');
  assert.match(caption.body.outcomes[0].error?.detail ?? '', /MMIT_INGEST_MAX_FIELD_BYTES/);
  const map = await upload(id, [
    ['captions', JSON.stringify({ 'y.jpg': 'd'.repeat(3000) })],
    ['file', 'y.jpg'],
  ]);
  assert.equal(map.status, 413);
  assert.match(map.body.detail, /'captions' field exceeds 2048 bytes \(MMIT_INGEST_MAX_FIELD_BYTES\)/);
});

test('a malformed captions field refuses the request, or every file after it, never silently', async () => {
  const id = await corpus();
  for (const captions of [
    '{"z.jpg": "a red star"',
    '["a red star"]',
    '{"z.jpg": 7}',
    `{"z.jpg":${'['.repeat(500)}${']'.repeat(500)}}`,
  ]) {
    const res = await upload(id, [
      ['captions', captions],
      ['file', 'z.jpg'],
    ]);
    assert.equal(res.status, 400, captions);
    assert.match(res.body.detail, /'captions' field|captions for z\.jpg/);
  }
  assert.deepEqual(await storedCaptions(id), [], 'nothing was recorded');
  const later = await upload(id, [
    ['caption', 'first'],
    ['file', 'first.jpg'],
    ['captions', 'nope'],
    ['file', 'second.jpg'],
  ]);
  assert.equal(later.status, 200);
  assert.equal(later.body.outcomes[0].status, 'accepted');
  assert.equal(later.body.outcomes[1].error?.type, 'validation');
  assert.match(later.body.outcomes[1].error?.detail ?? '', /'captions' field is not JSON/);
});

test('a file that is not media is drained and rejected without being held', async () => {
  const id = await corpus();
  const form = new FormData();
  form.append('file', new Blob([Buffer.alloc(300 * 1024, 0x5a)]), 'junk.jpg');
  const res = await json<{ outcomes: Outcome[] }>(
    await fetch(`${h.url}/v1/corpora/${id}/items`, { method: 'POST', body: form }),
  );
  assert.equal(res.outcomes[0].error?.type, 'unsupported_media_type');
});

test('imports: caption and metadata limits per item; the archive is deleted once the import is done', async () => {
  const id = await corpus();
  const archive = await makeTar([
    { name: 'a.jpg', data: await jpeg(64, 64, 1) },
    { name: 'a.txt', data: 'one\ntwo\nthree\nfour\n' },
    { name: 'b.jpg', data: await jpeg(64, 64, 2) },
    { name: 'b.txt', data: 'e'.repeat(101) },
    { name: 'c.jpg', data: await jpeg(64, 64, 3) },
    { name: 'c.txt', data: 'fine' },
  ]);
  const nested = await makeTar([
    { name: 'd.jpg', data: await jpeg(64, 64, 4) },
    {
      name: 'm.jsonl',
      data: `{"image":"d.jpg","caption":"deep","meta":${'['.repeat(40)}${']'.repeat(40)}}\n`,
    },
  ]);
  for (const [format, tar, expected] of [
    ['tar', archive, { payload_too_large: 2 }],
    ['jsonl', nested, { invalid_record: 1 }],
  ] as const) {
    const form = new FormData();
    form.append('format', format);
    form.append('archive', new Blob([tar]), 'archive.tar');
    const res = await fetch(`${h.url}/v1/corpora/${id}/imports`, { method: 'POST', body: form });
    assert.equal(res.status, 202);
    const job = await waitForJob(h.url, (await json<{ id: string }>(res)).id);
    assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
    assert.deepEqual((job.result as { rejectedByReason: object }).rejectedByReason, expected);
  }
  // The deletion follows the job's final write.
  for (let i = 0; i < 50 && (await uploadsLeft()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await uploadsLeft(), 0);
});

test('import key fields: traversal spellings and unknown uploads are refused at the door, naming the field', async () => {
  const id = await corpus();
  const post = async (body: unknown) => {
    const res = await fetch(`${h.url}/v1/corpora/${id}/imports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await json<Problem>(res) };
  };
  for (const spelling of TRAVERSAL_SPELLINGS) {
    for (const key of [`uploads/${spelling}`, `uploads/${newId('upload')}/${spelling}`]) {
      const res = await post({ format: 'tar', source: { type: 'upload', key } });
      assert.equal(res.status, 400, key);
      assert.equal(res.body.errors?.[0]?.path, 'source.key', key);
    }
    const mediaRoot = await post({
      format: 'jsonl',
      source: { type: 'path', path: h.importRoot },
      options: { mediaRoot: `x/${spelling}` },
    });
    // Tree paths are never URL-decoded, so only a real `..` segment or NUL climbs out.
    const climbs = `x/${spelling}`.split(/[/\\]/).includes('..') || spelling.includes('\u0000');
    if (climbs) assert.equal(mediaRoot.status, 400, `mediaRoot ${spelling}`);
  }
  const missing = await post({
    format: 'tar',
    source: { type: 'upload', key: keys.upload(newId('upload'), 'a.tar') },
  });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.errors?.[0]?.path, 'source.key');
  // A refused multipart import takes its archive away with it.
  const form = new FormData();
  form.append('format', 'arrow'); // no such format
  form.append('archive', new Blob([await makeTar([{ name: 'a.jpg', data: 'x' }])]), 'a.tar');
  assert.equal(
    (await fetch(`${h.url}/v1/corpora/${id}/imports`, { method: 'POST', body: form })).status,
    400,
  );
  assert.equal(await uploadsLeft(), 0);
});
