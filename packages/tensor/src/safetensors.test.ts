import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixture } from '../../../test/paths.js';
import { hostTensor, toNumbers } from './dtype.js';
import { openCheckpoint, readSafetensors, SafetensorsError, writeSafetensors } from './safetensors.js';

test('reads a Hugging Face case file with its metadata', () => {
  const { tensors, metadata } = readSafetensors(fixture('case_llava_llama.safetensors'));
  const meta = JSON.parse(metadata.json);
  assert.equal(typeof meta, 'object');
  assert.deepEqual(tensors.features.dims, [2, 16, 64]);
  assert.equal(tensors.input_ids.dtype, 'int64');
  assert.equal(tensors.loss.data.length, 1);
  assert.ok(Number.isFinite(toNumbers(tensors.loss)[0]));
});

test('opens a checkpoint folder lazily and reads one tensor', () => {
  const ckpt = openCheckpoint(fixture('tiny-llama'));
  try {
    assert.ok(ckpt.names().includes('model.embed_tokens.weight'));
    const info = ckpt.info('model.embed_tokens.weight');
    assert.equal(info.dtype, 'float32');
    const t = ckpt.read('model.embed_tokens.weight');
    assert.deepEqual(t.dims, info.dims);
    assert.equal(t.data.byteLength, info.byteLength);
    assert.throws(
      () => ckpt.read('nope'),
      (e: Error) => e instanceof SafetensorsError && /no tensor 'nope'.*lm_head/.test(e.message),
    );
  } finally {
    ckpt.close();
  }
});

test('writes and reads back every dtype, and converts float16/bfloat16 to float32 on request', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmit-st-'));
  const path = join(dir, 'all.safetensors');
  const tensors = {
    f32: hostTensor('float32', [2, 2], [1, 2, 3, 4]),
    f64: hostTensor('float64', [1], [Math.PI]),
    f16: hostTensor('float16', [3], [0.5, -2, 1024]),
    bf16: hostTensor('bfloat16', [2], [1.5, -3]),
    i64: hostTensor('int64', [2], [-5, 1e12]),
    i32: hostTensor('int32', [1], [-7]),
    i8: hostTensor('int8', [2], [-128, 127]),
    u8: hostTensor('uint8', [1], [255]),
    b: hostTensor('bool', [2], [1, 0]),
  };
  writeSafetensors(path, tensors, { note: 'x' });
  const header = readFileSync(path);
  assert.equal(Number(header.readBigUInt64LE(0)) % 8, 0, 'header padded to 8 bytes');
  const back = readSafetensors(path);
  assert.deepEqual(back.metadata, { note: 'x' });
  for (const [name, t] of Object.entries(tensors)) {
    assert.equal(back.tensors[name].dtype, t.dtype, name);
    assert.deepEqual(Array.from(toNumbers(back.tensors[name])), Array.from(toNumbers(t)), name);
  }
  const asF32 = readSafetensors(path, { as: 'float32' }).tensors;
  assert.equal(asF32.f16.dtype, 'float32');
  assert.deepEqual(Array.from(asF32.f16.data as Float32Array), [0.5, -2, 1024]);
  assert.deepEqual(Array.from(asF32.bf16.data as Float32Array), [1.5, -3]);
  assert.equal(asF32.i64.dtype, 'int64', 'integers are not converted');
});

test('reads a sharded checkpoint through model.safetensors.index.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmit-shard-'));
  writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), { a: hostTensor('float32', [2], [1, 2]) });
  writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), { b: hostTensor('float16', [1], [3]) });
  const index = {
    metadata: { total_size: 10 },
    weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' },
  };
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
  const ckpt = openCheckpoint(dir);
  assert.deepEqual(ckpt.names().sort(), ['a', 'b']);
  assert.deepEqual(Array.from(toNumbers(ckpt.read('a'))), [1, 2]);
  assert.deepEqual(Array.from(ckpt.read('b', { as: 'float32' }).data as Float32Array), [3]);
  ckpt.close();
});

test('rejects a corrupt header with a named error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmit-bad-'));
  const path = join(dir, 'bad.safetensors');
  const json = Buffer.from(JSON.stringify({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 8] } }));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([prefix, json, Buffer.alloc(8)]));
  assert.throws(() => openCheckpoint(path), /tensor 'x' offsets \[0, 8\] do not match its shape/);
  const f8 = Buffer.from(JSON.stringify({ y: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }));
  prefix.writeBigUInt64LE(BigInt(f8.length));
  writeFileSync(path, Buffer.concat([prefix, f8, Buffer.alloc(1)]));
  assert.throws(() => openCheckpoint(path), /dtype F8_E4M3; supported: F64, F32, F16, BF16/);
});
