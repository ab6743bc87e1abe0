import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CorpusManifestSchema, CreateCorpusRequestSchema, emptyCorpusCounts } from './corpus.js';
import { newId } from './ids.js';
import { ImportRequestSchema } from './ingest.js';
import { ItemRecordSchema } from './item.js';
import { JobRecordSchema } from './jobs.js';
import { keys } from './keys.js';
import { PageQuerySchema, pageOf } from './pagination.js';

test('a corpus create request gets the documented option defaults', () => {
  const r = CreateCorpusRequestSchema.parse({ name: '  birds ' });
  assert.equal(r.name, 'birds');
  assert.deepEqual(r.options, {
    maxSide: 1024,
    keepOriginals: true,
    nearDuplicateThreshold: 6,
    thumbnailSide: 256,
  });
  const custom = CreateCorpusRequestSchema.parse({ name: 'x', options: { maxSide: 512 } });
  assert.equal(custom.options.maxSide, 512);
  assert.equal(custom.options.keepOriginals, true);
  assert.ok(!CreateCorpusRequestSchema.safeParse({ name: '' }).success);
  assert.ok(!CreateCorpusRequestSchema.safeParse({ name: 'x', options: { maxSide: 0 } }).success);
});

test('a corpus manifest round-trips and rejects unknown rejection reasons in counts', () => {
  const now = new Date().toISOString();
  const manifest = {
    id: newId('corpus'),
    name: 'birds',
    description: '',
    createdAt: now,
    updatedAt: now,
    options: CreateCorpusRequestSchema.parse({ name: 'x' }).options,
    counts: { ...emptyCorpusCounts(), rejected: 1, rejectedByReason: { decode_failed: 1 } },
    version: 1,
  };
  const parsed = CorpusManifestSchema.parse(JSON.parse(JSON.stringify(manifest)));
  assert.deepEqual(parsed.parts, []);
  assert.equal(parsed.counts.rejectedByReason.decode_failed, 1);
  const bad = { ...manifest, counts: { ...manifest.counts, rejectedByReason: { bogus: 1 } } };
  assert.ok(!CorpusManifestSchema.safeParse(bad).success);
});

test('item records validate sha256, phash and ids', () => {
  const base = {
    id: newId('item'),
    corpusId: newId('corpus'),
    source: 'imgs/a.jpg',
    modality: 'image',
    captions: ['a bird'],
    status: 'accepted',
    media: { sha256: 'f'.repeat(64), key: 'media/sha256/ff/x.jpg', bytes: 10 },
    image: {
      width: 10,
      height: 10,
      format: 'jpeg',
      originalWidth: 10,
      originalHeight: 10,
      originalFormat: 'jpeg',
      phash: '0123456789abcdef',
    },
    createdAt: new Date().toISOString(),
  };
  assert.deepEqual(ItemRecordSchema.parse(base).extra, {});
  assert.ok(
    !ItemRecordSchema.safeParse({ ...base, media: { ...base.media, sha256: 'F'.repeat(64) } }).success,
  );
  assert.ok(!ItemRecordSchema.safeParse({ ...base, image: { ...base.image, phash: 'xyz' } }).success);
  assert.ok(!ItemRecordSchema.safeParse({ ...base, status: 'maybe' }).success);
});

test('import requests name a known format and a path or uploaded object', () => {
  const r = ImportRequestSchema.parse({ format: 'coco', source: { type: 'path', path: '/data/coco' } });
  assert.equal(r.options.maxEntries, 1_000_000);
  const bad = ImportRequestSchema.safeParse({ format: 'arrow', source: { type: 'path', path: '/x' } });
  assert.ok(!bad.success);
  assert.ok(bad.error.issues[0].message.includes('folder'), 'the error lists the valid formats');
  assert.ok(
    !ImportRequestSchema.safeParse({ format: 'tar', source: { type: 'upload', key: 'corpora/x' } }).success,
  );
  // The filed case: it began with the right prefix and climbed out of it.
  const climbing = { type: 'upload', key: 'uploads/../../../../outside.tar' };
  assert.ok(!ImportRequestSchema.safeParse({ format: 'tar', source: climbing }).success);
  const key = keys.upload(newId('upload'), 'photos.tar');
  assert.ok(ImportRequestSchema.safeParse({ format: 'tar', source: { type: 'upload', key } }).success);
  for (const mediaRoot of ['../images', 'a/../../b', '/etc', 'C:\\x', '..\\x']) {
    const r = ImportRequestSchema.safeParse({
      format: 'coco',
      source: { type: 'path', path: '/d' },
      options: { mediaRoot },
    });
    assert.ok(!r.success, mediaRoot);
    assert.equal(r.error.issues[0].path.join('.'), 'options.mediaRoot');
  }
  assert.ok(
    ImportRequestSchema.safeParse({
      format: 'coco',
      source: { type: 'path', path: '/d' },
      options: { mediaRoot: 'images/train' },
    }).success,
  );
});

test('job records accept an unknown total and default progress fields', () => {
  const now = new Date().toISOString();
  const job = JobRecordSchema.parse({
    id: newId('job'),
    service: 'ingest',
    kind: 'import',
    status: 'running',
    progress: { done: 3, total: null, rate: 1.5, etaSec: null },
    params: { any: 'thing' },
    attempt: 1,
    createdAt: now,
    updatedAt: now,
  });
  assert.equal(job.progress.failed, 0);
  assert.equal(job.progress.unit, 'items');
  assert.equal(job.cancelRequested, false);
});

test('page queries coerce the limit from a query string and bound it', () => {
  assert.equal(PageQuerySchema.parse({ limit: '25' }).limit, 25);
  assert.equal(PageQuerySchema.parse({}).limit, 100);
  assert.ok(!PageQuerySchema.safeParse({ limit: '5000' }).success);
  const page = pageOf(ItemRecordSchema.pick({ id: true })).parse({
    items: [{ id: newId('item') }],
    nextCursor: null,
  });
  assert.equal(page.nextCursor, null);
});
