// Sharding: one file when everything fits, else numbered shards with an index that maps every
// tensor to the file holding it; the result reads back through our checkpoint loader.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type HostTensor, hostTensor, openCheckpoint } from '@mmit/tensor';
import { ExportError } from './errors.js';
import { type PendingTensor, writeShardedSafetensors } from './sharded-writer.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmit-shards-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

const tensors: Record<string, HostTensor> = {
  'a.weight': hostTensor(
    'float32',
    [10, 10],
    Array.from({ length: 100 }, (_, i) => i),
  ), // 400 bytes
  'b.weight': hostTensor(
    'float32',
    [50],
    Array.from({ length: 50 }, (_, i) => -i),
  ), // 200 bytes
  'c.bias': hostTensor('int64', [3], [1, 2, 3]), // 24 bytes
  'd.huge': hostTensor(
    'float32',
    [300],
    Array.from({ length: 300 }, (_, i) => i / 3),
  ), // 1200 bytes
};
const pending = (): PendingTensor[] =>
  Object.entries(tensors).map(([name, t]) => ({ name, byteLength: t.data.byteLength, read: () => t }));

test('writes one model.safetensors when everything fits', () => {
  const out = join(dir, 'single');
  mkdirSync(out, { recursive: true });
  const result = writeShardedSafetensors(out, pending());
  assert.deepEqual(result.files, ['model.safetensors']);
  assert.ok(!existsSync(join(out, 'model.safetensors.index.json')));
  const file = openCheckpoint(out);
  for (const [name, t] of Object.entries(tensors)) assert.deepEqual(file.read(name).data, t.data);
  assert.equal(file.metadata.format, 'pt');
  file.close();
});

test('splits into numbered shards with an index; an oversized tensor gets a shard of its own', () => {
  const out = join(dir, 'sharded');
  mkdirSync(out, { recursive: true });
  const result = writeShardedSafetensors(out, pending(), 600);
  // Sorted: a (400) + b (200) = 600 fit; c (24) starts the next; d (1200) is too large to share.
  assert.deepEqual(result.files, [
    'model-00001-of-00003.safetensors',
    'model-00002-of-00003.safetensors',
    'model-00003-of-00003.safetensors',
    'model.safetensors.index.json',
  ]);
  const index = JSON.parse(readFileSync(join(out, 'model.safetensors.index.json'), 'utf8'));
  assert.deepEqual(index, {
    metadata: { total_size: 1824 },
    weight_map: {
      'a.weight': 'model-00001-of-00003.safetensors',
      'b.weight': 'model-00001-of-00003.safetensors',
      'c.bias': 'model-00002-of-00003.safetensors',
      'd.huge': 'model-00003-of-00003.safetensors',
    },
  });
  const file = openCheckpoint(out);
  for (const [name, t] of Object.entries(tensors)) assert.deepEqual(file.read(name).data, t.data);
  file.close();
});

test('refuses two tensors with one name', () => {
  const twice = [...pending(), { ...pending()[0] }];
  assert.throws(() => writeShardedSafetensors(dir, twice), ExportError);
});
