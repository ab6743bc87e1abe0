// Integration tests: the real ingest service over a real embedded S3 server.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeWav } from '@mmit/media';
import sharp from 'sharp';
import { type Harness, jpeg, json, png, startHarness } from './testing/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => h?.close());

async function createCorpus(name: string, options: Record<string, unknown> = {}): Promise<string> {
  const res = await fetch(`${h.url}/v1/corpora`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, options }),
  });
  assert.equal(res.status, 201);
  return (await json<{ id: string }>(res)).id;
}

function tone(seconds: number, rate = 44100): Uint8Array {
  const samples = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < samples.length; i++) samples[i] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / rate);
  return encodeWav(samples, rate, 'pcm16');
}

// Item records as the API returns them, loosely typed for reading fields in assertions.
type ItemJson = {
  source: string;
  captions: string[];
  image: { width: number; height: number; phash: string };
  audio: { sampleRate: number; durationSec: number; normalizedKey: string };
  media: { key: string; originalKey: string; thumbnailKey?: string };
  extra: Record<string, unknown>;
};

interface Outcome {
  index: number;
  source: string;
  status: string;
  itemId?: string;
  duplicateOf?: string;
  nearDuplicateOf?: string;
  error?: { type: string; detail: string };
}

async function upload(corpusId: string, form: FormData) {
  const res = await fetch(`${h.url}/v1/corpora/${corpusId}/items`, { method: 'POST', body: form });
  return {
    status: res.status,
    body: await json<{ outcomes: Outcome[]; counts: Record<string, unknown> }>(res),
  };
}

test('create, list and show corpora; unknown ids and bad bodies answer problem+json', async () => {
  const id = await createCorpus('listing');
  const list = await json<{ items: { id: string }[] }>(await fetch(`${h.url}/v1/corpora?limit=1000`));
  assert.ok(list.items.some((c) => c.id === id));
  const shown = await json<{ name: string; counts: { accepted: number } }>(
    await fetch(`${h.url}/v1/corpora/${id}`),
  );
  assert.equal(shown.name, 'listing');
  assert.equal(shown.counts.accepted, 0);

  const missing = await fetch(`${h.url}/v1/corpora/c_0000000000000000000000`);
  assert.equal(missing.status, 404);
  assert.match(missing.headers.get('content-type') ?? '', /application\/problem\+json/);
  const bad = await fetch(`${h.url}/v1/corpora`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: '' }),
  });
  assert.equal(bad.status, 400);
  assert.equal((await json<{ code: string }>(bad)).code, 'validation');
});

test('an upload of good and bad files: every bad one rejected with its reason, none fails its neighbours', async () => {
  const id = await createCorpus('bad inputs');
  const good = await jpeg(640, 480, 1);
  const form = new FormData();
  form.append('caption', 'a gradient with a white circle');
  form.append('file', new Blob([good]), 'good.jpg');
  form.append('file', new Blob([]), 'empty.jpg');
  form.append('file', new Blob([good.subarray(0, good.length / 2)]), 'truncated.jpg');
  form.append('caption', 'really a png');
  form.append('file', new Blob([await png(300, 200, 2)]), 'liar.jpg');
  form.append('file', new Blob([Buffer.from('%PDF-1.4 not media at all')]), 'doc.pdf');
  form.append('caption', 'a tone');
  form.append('file', new Blob([tone(0.5)]), 'tone.wav');
  form.append('file', new Blob([good]), 'same-bytes.jpg');
  const { status, body } = await upload(id, form);
  assert.equal(status, 200);
  const by = Object.fromEntries(body.outcomes.map((o) => [o.source, o]));
  assert.equal(by['good.jpg'].status, 'accepted');
  assert.equal(by['empty.jpg'].error?.type, 'empty_file');
  assert.equal(by['truncated.jpg'].error?.type, 'decode_failed');
  assert.equal(by['liar.jpg'].status, 'accepted');
  assert.equal(by['doc.pdf'].error?.type, 'unsupported_media_type');
  assert.equal(by['tone.wav'].status, 'accepted');
  assert.equal(by['same-bytes.jpg'].status, 'duplicate');
  assert.equal(by['same-bytes.jpg'].duplicateOf, by['good.jpg'].itemId);
  assert.deepEqual(
    body.outcomes.map((o) => o.index),
    [0, 1, 2, 3, 4, 5, 6],
  );

  const manifest = await json<{ counts: Record<string, unknown> }>(await fetch(`${h.url}/v1/corpora/${id}`));
  assert.deepEqual(manifest.counts, {
    accepted: 3,
    duplicate: 1,
    nearDuplicate: 0,
    rejected: 3,
    rejectedByReason: { empty_file: 1, decode_failed: 1, unsupported_media_type: 1 },
    images: 2,
    audio: 1,
  });

  const items = await json<{ items: ItemJson[] }>(await fetch(`${h.url}/v1/corpora/${id}/items?limit=100`));
  const record = (source: string) => items.items.find((i) => i.source === source)!;
  assert.deepEqual(record('good.jpg').captions, ['a gradient with a white circle']);
  assert.equal(record('good.jpg').image.width, 640);
  assert.match(record('good.jpg').image.phash, /^[0-9a-f]{16}$/);
  assert.deepEqual(record('liar.jpg').extra.extensionMismatch, { extension: 'jpg', detected: 'png' });
  assert.equal(record('tone.wav').audio.sampleRate, 44100);
  assert.ok(Math.abs(record('tone.wav').audio.durationSec - 0.5) < 0.01);
  assert.ok(await h.bucket.exists(record('tone.wav').audio.normalizedKey));
  assert.ok(await h.bucket.exists(record('good.jpg').media.key));
  assert.ok(await h.bucket.exists(record('good.jpg').media.originalKey));

  // The thumbnail is served by its key; anything that is not a thumbnail key is refused.
  const thumbnailKey = record('good.jpg').media.thumbnailKey!;
  assert.match(thumbnailKey, /^media\/thumb\/[0-9a-f]{2}\/[0-9a-f]{64}\.webp$/);
  const thumb = await fetch(`${h.url}/v1/${thumbnailKey}`);
  assert.equal(thumb.status, 200);
  assert.equal(thumb.headers.get('content-type'), 'image/webp');
  assert.deepEqual(Buffer.from(await thumb.arrayBuffer()), await h.bucket.getBuffer(thumbnailKey));
  const missing = thumbnailKey.replace(/\/[0-9a-f]{64}\./, (m) => `/${m.slice(1, 3)}${'0'.repeat(62)}.`);
  assert.equal((await fetch(`${h.url}/v1/${missing}`)).status, 404);
  assert.equal((await fetch(`${h.url}/v1/media/thumb/00/${'1'.repeat(64)}.webp`)).status, 400);
  assert.equal((await fetch(`${h.url}/v1/media/thumb/..%2F..%2Fcorpora/x.webp`)).status, 400);

  // So is the normalized media (what samples name), with its length; the audio file too.
  for (const key of [record('good.jpg').media.key, record('tone.wav').media.key]) {
    assert.match(key, /^media\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\.[a-z0-9]+$/);
    const media = await fetch(`${h.url}/v1/${key}`);
    assert.equal(media.status, 200, key);
    const bytes = Buffer.from(await media.arrayBuffer());
    assert.equal(media.headers.get('content-length'), String(bytes.length));
    assert.deepEqual(bytes, await h.bucket.getBuffer(key));
  }
  const mediaKey = record('good.jpg').media.key;
  assert.equal((await fetch(`${h.url}/v1/${mediaKey.replace(/\/[0-9a-f]{2}\//, '/00/')}`)).status, 400);
  const absent = mediaKey.replace(/\/[0-9a-f]{64}\./, (m) => `/${m.slice(1, 3)}${'0'.repeat(62)}.`);
  assert.equal((await fetch(`${h.url}/v1/${absent}`)).status, 404);
});

test('a 50,000 x 50,000 px image is refused from its header, without decoding it', async () => {
  const id = await createCorpus('bomb');
  // A PNG header claiming 50,000 x 50,000 with a tiny (invalid) body: only the header can be read.
  const big = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } })
    .png()
    .toBuffer();
  const bomb = Buffer.from(big);
  bomb.writeUInt32BE(50_000, 16);
  bomb.writeUInt32BE(50_000, 20);
  const form = new FormData();
  form.append('file', new Blob([bomb]), 'bomb.png');
  const started = Date.now();
  const { body } = await upload(id, form);
  assert.equal(body.outcomes[0].error?.type, 'image_too_large');
  assert.match(body.outcomes[0].error?.detail ?? '', /50000 x 50000/);
  assert.ok(Date.now() - started < 5000, 'refused quickly');
});

test('a non-UTF-8 caption is refused; big images are bounded to maxSide; near duplicates are flagged', async () => {
  const id = await createCorpus('captions', { maxSide: 256, nearDuplicateThreshold: 10 });
  const original = await jpeg(800, 600, 3, 90);
  const form = new FormData();
  form.append('captions', JSON.stringify({ 'a.jpg': ['first', 'second'] }));
  form.append('file', new Blob([original]), 'a.jpg');
  form.append('file', new Blob([await jpeg(800, 600, 3, 60)]), 'a-recompressed.jpg');
  const { body } = await upload(id, form);
  assert.equal(body.outcomes[0].status, 'accepted');
  assert.equal(body.outcomes[1].status, 'accepted');
  assert.equal(body.outcomes[1].nearDuplicateOf, body.outcomes[0].itemId);
  const items = await json<{ items: ItemJson[] }>(await fetch(`${h.url}/v1/corpora/${id}/items`));
  assert.deepEqual(items.items[0].captions, ['first', 'second']);
  assert.deepEqual([items.items[0].image.width, items.items[0].image.height], [256, 192]);

  // A raw multipart body whose caption field holds Latin-1 bytes.
  const boundary = 'xBOUNDARYx';
  const raw = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\n`),
    Buffer.from([0x63, 0x61, 0x66, 0xe9]),
    Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.jpg"\r\n\r\n`),
    await jpeg(100, 100, 9),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const res = await fetch(`${h.url}/v1/corpora/${id}/items`, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    body: raw,
  });
  const outcome = (await json<{ outcomes: Outcome[] }>(res)).outcomes[0];
  assert.equal(outcome.error?.type, 'invalid_caption');
});

test('re-sending the same upload adds nothing twice; item pages follow the cursor', async () => {
  const id = await createCorpus('idempotent');
  const form = () => {
    const f = new FormData();
    return Promise.all([0, 1, 2, 3, 4].map((i) => jpeg(64, 64, 20 + i))).then((images) => {
      images.forEach((bytes, i) => {
        f.append('file', new Blob([bytes]), `img-${i}.jpg`);
      });
      return f;
    });
  };
  const first = await upload(id, await form());
  const second = await upload(id, await form());
  assert.deepEqual(
    second.body.outcomes.map((o) => o.itemId),
    first.body.outcomes.map((o) => o.itemId),
  );
  const manifest = await json<{ counts: { accepted: number; duplicate: number } }>(
    await fetch(`${h.url}/v1/corpora/${id}`),
  );
  assert.equal(manifest.counts.accepted, 5);
  assert.equal(manifest.counts.duplicate, 0);

  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: { id: string }[]; nextCursor: string | null } = await json(
      await fetch(`${h.url}/v1/corpora/${id}/items?limit=2${cursor ? `&cursor=${cursor}` : ''}`),
    );
    seen.push(...page.items.map((i) => i.id));
    cursor = page.nextCursor;
  } while (cursor);
  assert.deepEqual(seen.sort(), first.body.outcomes.map((o) => o.itemId!).sort());
  const bad = await fetch(`${h.url}/v1/corpora/${id}/items?cursor=nonsense`);
  assert.equal(bad.status, 400);
});
