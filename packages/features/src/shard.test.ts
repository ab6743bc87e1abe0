// Shard format, block format and encoder keys: pure functions, no bucket.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { float32ToFloat16, hostTensor } from '@mmit/tensor';
import { decodeBlock, encodeBlock, type FeatureBlock } from './block.js';
import { canonicalJson, type EncoderIdentity, encoderKeyOf } from './encoder-key.js';
import { parseSafetensorsHeader } from './safetensors-bytes.js';
import { blockFromEntryBytes, buildShard, entryBytesValid, segmentFromShard } from './shard.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function visionBlock(seed: number, n = 5, d = 3): FeatureBlock {
  return {
    features: hostTensor(
      'float32',
      [n, d],
      Array.from({ length: n * d }, (_, i) => seed + i / 7),
    ),
  };
}

function audioBlock(seed: number): FeatureBlock {
  return {
    features: {
      dtype: 'float16',
      dims: [2, 4, 3],
      data: float32ToFloat16(Float32Array.from({ length: 24 }, (_, i) => seed - i)),
    },
    mask: hostTensor('uint8', [2, 4], [1, 1, 1, 1, 1, 1, 0, 0]),
  };
}

test('a shard holds each item as one contiguous, checksummed range that decodes back exactly', () => {
  const items = [
    { sha256: sha('a'), block: visionBlock(1) },
    { sha256: sha('b'), block: audioBlock(2) },
    { sha256: sha('c'), block: visionBlock(3, 7, 2) },
  ];
  const { bytes, segment } = buildShard(
    'clip-0123456789abcdef0123456789abcdef',
    's-00000000a-00000001',
    items,
  );
  assert.equal(segment.entries.length, 3);
  assert.equal(segment.bytes, bytes.length);
  assert.equal(segment.sha256, createHash('sha256').update(bytes).digest('hex'));
  for (const { sha256, block } of items) {
    const entry = segment.entries.find((e) => e.sha256 === sha256)!;
    const range = bytes.subarray(entry.offset, entry.offset + entry.length);
    assert.ok(entryBytesValid(entry, range));
    const back = blockFromEntryBytes(entry, range);
    assert.deepEqual(back.features.dims, block.features.dims);
    assert.deepEqual([...back.features.data], [...block.features.data]);
    assert.equal(back.features.dtype, block.features.dtype);
    assert.deepEqual(
      back.mask ? [...back.mask.data] : undefined,
      block.mask ? [...block.mask.data] : undefined,
    );
  }
  // The object is standard safetensors: the header names every item's tensor.
  const header = parseSafetensorsHeader(bytes);
  assert.deepEqual(
    Object.keys(header.placements).sort(),
    [sha('a'), sha('b'), `${sha('b')}.mask`, sha('c')].sort(),
  );
});

test('one flipped byte fails that item checksum only; the shard rebuilds its own index', () => {
  const items = [0, 1, 2].map((i) => ({ sha256: sha(String(i)), block: visionBlock(i) }));
  const key = 'clip-0123456789abcdef0123456789abcdef';
  const { bytes, segment } = buildShard(key, 's-00000000a-00000002', items);
  const victim = segment.entries[1];
  const damaged = Buffer.from(bytes);
  damaged[victim.offset + 3] ^= 0xff;
  const rebuilt = segmentFromShard(key, 's-00000000a-00000002', damaged);
  assert.deepEqual(rebuilt.corrupt, [victim.sha256]);
  assert.deepEqual(
    rebuilt.segment.entries.map((e) => e.sha256),
    segment.entries.filter((e) => e !== victim).map((e) => e.sha256),
  );
  assert.ok(!entryBytesValid(victim, damaged.subarray(victim.offset, victim.offset + victim.length)));
  assert.throws(
    () => segmentFromShard('clip-ffffffffffffffffffffffffffffffff', 's-00000000a-00000002', bytes),
    /metadata says/,
  );
});

test('a standalone block round-trips with its mask and metadata', () => {
  const block = audioBlock(9);
  const { block: back, metadata } = decodeBlock(encodeBlock(block, { sha256: sha('x') }));
  assert.deepEqual([...back.features.data], [...block.features.data]);
  assert.deepEqual([...(back.mask?.data ?? [])], [...(block.mask?.data ?? [])]);
  assert.equal(metadata.sha256, sha('x'));
});

test('encoder keys depend on every identity field and not on key order', () => {
  const identity: EncoderIdentity = {
    format: 1,
    kind: 'clip',
    modality: 'image',
    weightsSha256: sha('w'),
    architecture: { hiddenSize: 64, numLayers: 3 },
    layer: -2,
    select: 'patch',
    preprocessing: { crop: { height: 32, width: 32 }, mean: [0.5, 0.5, 0.5] },
    dtype: 'float32',
    compute: 'float32',
  };
  const key = encoderKeyOf(identity);
  assert.match(key, /^clip-[0-9a-f]{32}$/);
  const reordered = JSON.parse(
    canonicalJson({ ...identity, preprocessing: { mean: [0.5, 0.5, 0.5], crop: { width: 32, height: 32 } } }),
  );
  assert.equal(encoderKeyOf(reordered), key);
  for (const change of [
    { layer: -1 },
    { select: 'full' },
    { dtype: 'float16' },
    { weightsSha256: sha('v') },
  ] as const) {
    assert.notEqual(encoderKeyOf({ ...identity, ...change }), key, JSON.stringify(change));
  }
  assert.notEqual(
    encoderKeyOf({ ...identity, preprocessing: { ...identity.preprocessing, mean: [0.4, 0.5, 0.5] } }),
    key,
  );
});
