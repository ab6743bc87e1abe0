// Publishing into a corpus from several writers at once, against the real embedded S3 server:
// the near-duplicate index finds what a brute-force scan finds, exact duplicates and reruns are
// decided the same whoever publishes, and nothing is counted twice.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { CorpusManifestSchema, CreateCorpusRequestSchema, type ItemRecord, keys } from '@mmit/contracts';
import { Bucket } from '@mmit/storage';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { itemIdFor } from './item-id.js';
import { hammingDistance, NearDuplicateIndex } from './near-duplicates.js';
import { type Proposal, publishBatch, withPublishLock } from './publish.js';
import { CorpusStore } from './store.js';

let testStore: TestStore;
let bucket: Bucket;
let store: CorpusStore;

before(async () => {
  testStore = await startTestStore({ name: 'publish', bucket: 'publish-test' });
  bucket = testStore.bucket;
  store = new CorpusStore(bucket);
});

after(() => testStore?.stop());

/** A deterministic stream of pseudo-random 64-bit hashes. */
function hashes(seed: number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++)
    out.push(createHash('sha256').update(`${seed}/${i}`).digest('hex').slice(0, 16));
  return out;
}

/** `hash` with `bits` of its bits flipped (distinct positions chosen by `salt`). */
function flip(hash: string, bits: number, salt: number): string {
  let x = BigInt(`0x${hash}`);
  const used = new Set<number>();
  for (let k = 0; used.size < bits; k++) {
    const bit =
      Number.parseInt(createHash('sha256').update(`${salt}/${k}`).digest('hex').slice(0, 4), 16) % 64;
    if (used.has(bit)) continue;
    used.add(bit);
    x ^= 1n << BigInt(bit);
  }
  return x.toString(16).padStart(16, '0');
}

test('the banded index finds exactly the nearest earlier image a brute-force scan finds', async () => {
  const corpus = await store.create(
    CreateCorpusRequestSchema.parse({
      name: 'near',
      description: '',
      options: { nearDuplicateThreshold: 6 },
    }),
  );
  const base = hashes(1, 150);
  // Half of them get a twin 1-9 bits away later in the order: some within the threshold, some not.
  const all = [...base, ...base.slice(0, 75).map((h, i) => flip(h, 1 + (i % 9), i))];
  const index = new NearDuplicateIndex(bucket, corpus.id, 6);
  const seen: { id: string; phash: string; order: string }[] = [];
  let found = 0;
  for (const [i, phash] of all.entries()) {
    const image = { id: `img-${i}`, phash, order: String(i).padStart(6, '0') };
    const got = await index.match(image);
    let best: { itemId: string; distance: number } | undefined;
    for (const earlier of seen) {
      const distance = hammingDistance(earlier.phash, phash);
      if (distance <= 6 && (!best || distance < best.distance)) best = { itemId: earlier.id, distance };
    }
    assert.deepEqual(got, best, `image ${i}`);
    if (got) found++;
    seen.push(image);
  }
  assert.ok(found >= 40, `planted twins within 6 bits are found (${found})`);
  // Stored, and read by a fresh index: the same answers (a rerun decides the same).
  await index.flush();
  const again = new NearDuplicateIndex(bucket, corpus.id, 6);
  const last = all.length - 1;
  assert.deepEqual(
    await again.match({ id: `img-${last}`, phash: all[last], order: String(last).padStart(6, '0') }),
    await new NearDuplicateIndex(bucket, corpus.id, 6).match({
      id: `img-${last}`,
      phash: all[last],
      order: String(last).padStart(6, '0'),
    }),
  );
});

/** Proposed accepted records for `names`, whose bytes are given by `bytesOf(name)`. */
function proposals(corpusId: string, names: string[], bytesOf: (name: string) => string): Proposal[] {
  return names.map((source, index) => {
    const sha = createHash('sha256').update(bytesOf(source)).digest('hex');
    const record: ItemRecord = {
      id: itemIdFor(corpusId, source, sha),
      corpusId,
      source,
      modality: 'audio',
      captions: [source],
      status: 'accepted',
      media: { sha256: sha, key: keys.media(sha, 'wav'), bytes: 10 },
      audio: {
        durationSec: 1,
        sampleRate: 16000,
        channels: 1,
        format: 'wav',
        normalizedKey: keys.audio16k(sha),
      },
      extra: { sourceSha256: sha },
      createdAt: new Date().toISOString(),
    };
    return { index, source, record };
  });
}

test('writers racing to publish overlapping bytes: each content accepted once, everything else a duplicate, reruns add nothing', async () => {
  const corpus = await store.create(
    CreateCorpusRequestSchema.parse({ name: 'race', description: '', options: {} }),
  );
  // 60 names over 20 contents; four writers publish overlapping halves at once, from their own clients.
  const names = Array.from({ length: 60 }, (_, i) => `file-${i}`);
  const bytesOf = (name: string) => `content ${Number(name.slice(5)) % 20}`;
  const writers = [names.slice(0, 30), names.slice(15, 45), names.slice(30, 60), names.slice(0, 60)];
  const publish = (part: string, batch: string[]) => {
    const own = new Bucket(testStore.config);
    return withPublishLock(own, corpus.id, part, (check) =>
      publishBatch(
        { bucket: own, corpusId: corpus.id, part, order: part, check },
        proposals(corpus.id, batch, bytesOf),
      ),
    );
  };
  await Promise.all(writers.map((batch, w) => publish(`w-${w}`, batch)));
  const manifest = await bucket.getJson(keys.corpusManifest(corpus.id), CorpusManifestSchema);
  assert.equal(manifest.counts.accepted, 20, 'one item per distinct content');
  assert.equal(manifest.counts.accepted + manifest.counts.duplicate, 60, 'every name recorded exactly once');
  const items = await store.listItems(corpus.id, { limit: 1000 });
  assert.equal(new Set(items.items.map((i) => i.id)).size, 60);
  for (const item of items.items.filter((i) => i.status === 'duplicate')) {
    const holder = items.items.find((i) => i.id === item.duplicateOf);
    assert.equal(holder?.status, 'accepted');
    assert.equal(holder?.media?.sha256, item.media?.sha256);
  }
  // The same batch again under a new part: every entry reported, nothing added.
  const rerun = await publish('w-rerun', names);
  assert.equal(rerun.length, 60);
  const after = await bucket.getJson(keys.corpusManifest(corpus.id), CorpusManifestSchema);
  assert.deepEqual(after.counts, manifest.counts);
  assert.equal(after.parts.length, manifest.parts.length);
  // A batch published twice under its own part (a crashed publish step run again) is read back.
  const again = await publish('w-0', writers[0]);
  assert.deepEqual(
    again.map((o) => o.itemId),
    proposals(corpus.id, writers[0], bytesOf).map((p) => p.record?.id),
  );
});

test('a claim left by a publisher that died before its part was listed does not block the next one', async () => {
  const corpus = await store.create(
    CreateCorpusRequestSchema.parse({ name: 'abandoned', description: '', options: {} }),
  );
  const [first] = proposals(corpus.id, ['a'], () => 'same bytes');
  const sha = String(first.record?.extra.sourceSha256);
  // What a dead publisher leaves: a claim naming a part that never reached the manifest.
  await bucket.putJson(keys.corpusSourceClaim(corpus.id, sha), {
    holder: { id: 'i_0000000000000000000000', modality: 'audio', part: 'never-published' },
  });
  const [b] = proposals(corpus.id, ['b'], () => 'same bytes');
  const outcomes = await withPublishLock(bucket, corpus.id, 'next', (check) =>
    publishBatch({ bucket, corpusId: corpus.id, part: 'next', order: 'next', check }, [b]),
  );
  assert.equal(outcomes[0].status, 'accepted', 'the abandoned claim is taken over');
  const manifest = await bucket.getJson(keys.corpusManifest(corpus.id), CorpusManifestSchema);
  assert.equal(manifest.counts.accepted, 1);
});

test("a job's current owner takes the publish lock at once from the job's killed earlier owner, and nobody else does", async () => {
  const corpus = await store.create(
    CreateCorpusRequestSchema.parse({ name: 'relock', description: '', options: {} }),
  );
  // What an import's owner killed while publishing leaves: the lock, renewed a moment ago.
  const renewedAt = new Date().toISOString();
  await bucket.putJson(keys.corpusPublishLock(corpus.id), {
    lease: { owner: 'import j_1', instance: 'dead', renewedAt, ttlSec: 30 },
  });
  const started = Date.now();
  const ran = await withPublishLock(bucket, corpus.id, 'import j_1', async () => 'published', {
    ownership: () => {}, // the caller holds job j_1's lease
  });
  assert.equal(ran, 'published');
  assert.ok(Date.now() - started < 5_000, 'no wait for a whole lock period');

  // Another job's holder is not this caller's to take: it waits for the lock to go stale.
  await bucket.putJson(keys.corpusPublishLock(corpus.id), {
    lease: { owner: 'import j_2', instance: 'alive', renewedAt, ttlSec: 30 },
  });
  const signal = AbortSignal.timeout(1_500);
  await assert.rejects(
    withPublishLock(bucket, corpus.id, 'import j_1', async () => 'published', {
      signal,
      ownership: () => {},
    }),
    (err: unknown) => (err as Error).name === 'TimeoutError',
  );

  // A caller that cannot prove the job is its own takes nothing.
  await bucket.putJson(keys.corpusPublishLock(corpus.id), {
    lease: { owner: 'import j_1', instance: 'dead', renewedAt, ttlSec: 30 },
  });
  await assert.rejects(
    withPublishLock(bucket, corpus.id, 'import j_1', async () => 'published', {
      ownership: () => {
        throw new Error('lease lost');
      },
    }),
    /lease lost/,
  );
});
