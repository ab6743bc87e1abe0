// optimizer.safetensors in memory: exact round trip, readable by @mmit/tensor's file reader (the
// standard layout), and refusals that name the file and the tensor.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSafetensors, writeSafetensors } from '@mmit/tensor';
import { decodeOptimizerFile, encodeOptimizerFile, OPTIMIZER_FILE_FORMAT } from './optimizer-file.js';

const state = {
  params: {
    'projector.linear_1.weight': Float64Array.of(0.1, -1 / 3, 1e-300),
    'projector.b': Float64Array.of(2),
  },
  expAvg: { 'projector.linear_1.weight': Float64Array.of(1, 2, 3), 'projector.b': Float64Array.of(-0) },
  expAvgSq: {
    'projector.linear_1.weight': Float64Array.of(4, 5, Math.PI),
    'projector.b': Float64Array.of(7),
  },
};

test('round trip is exact, also from an unaligned copy of the bytes', () => {
  const bytes = encodeOptimizerFile(state);
  assert.deepEqual(decodeOptimizerFile(bytes, 'mem'), state);
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  assert.deepEqual(decodeOptimizerFile(shifted.subarray(3), 'mem'), state);
});

test('the bytes are a standard safetensors file (read by @mmit/tensor), and its files decode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmit-optfile-'));
  try {
    const path = join(dir, 'optimizer.safetensors');
    writeFileSync(path, encodeOptimizerFile(state));
    const { tensors, metadata } = readSafetensors(path);
    assert.equal(metadata.format, OPTIMIZER_FILE_FORMAT);
    assert.deepEqual(tensors['exp_avg_sq.projector.b'], {
      dtype: 'float64',
      dims: [1],
      data: Float64Array.of(7),
    });
    assert.deepEqual(
      tensors['param.projector.linear_1.weight'].data,
      state.params['projector.linear_1.weight'],
    );
    // And the other way: a file from @mmit/tensor's writer decodes here.
    writeSafetensors(path, tensors, metadata);
    assert.deepEqual(decodeOptimizerFile(readFileSync(path), path), state);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a float32 tensor or an unknown name is refused, naming the file and the tensor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmit-optfile-'));
  try {
    const path = join(dir, 'x.safetensors');
    const read = () => decodeOptimizerFile(readFileSync(path), 'runs/r/optimizer.safetensors');
    writeSafetensors(path, { 'param.w': { dtype: 'float32', dims: [1], data: Float32Array.of(1) } });
    assert.throws(read, /runs\/r\/optimizer\.safetensors: tensor param\.w is not a flat float64 tensor/);
    writeSafetensors(path, { 'momentum.w': { dtype: 'float64', dims: [1], data: Float64Array.of(1) } });
    assert.throws(read, /tensor momentum\.w is none of param\.\*, exp_avg\.\*, exp_avg_sq\.\*/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
