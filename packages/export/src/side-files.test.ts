import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { floatKeys, writeJson } from './side-files.js';

test('floatKeys finds keys written as floats, in values and in flat arrays, not ints or strings', () => {
  const keys = floatKeys(
    '{"initializer_factor": 1.0, "rope_theta": 10000.0, "eps": 1e-05, "layers": 2, "mean": [0.5, 1.0],' +
      ' "ids": [1, 2], "name": "v1.0", "nested": {"dropout": 0.0, "size": 32}}',
  );
  assert.deepEqual([...keys].sort(), ['dropout', 'eps', 'initializer_factor', 'mean', 'rope_theta']);
});

test('writeJson keeps integral floats as Python writes them and leaves everything else alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmit-json-'));
  try {
    const path = join(dir, 'config.json');
    const value = {
      initializer_factor: 1,
      rope_theta: 1_000_000,
      eps: 1e-5,
      layers: 2,
      mean: [0.5, 1],
      vision_config: { dropout: 0, size: 32, label: 'initializer_factor' },
    };
    writeJson(
      path,
      value,
      floatKeys('{"initializer_factor": 1.0, "rope_theta": 1e6, "mean": [1.0], "dropout": 0.0}'),
    );
    const text = readFileSync(path, 'utf8');
    assert.match(text, /"initializer_factor": 1\.0,/);
    assert.match(text, /"rope_theta": 1000000\.0,/);
    assert.match(text, /"layers": 2,/);
    assert.match(text, /"size": 32,/);
    assert.match(text, /"dropout": 0\.0,/);
    assert.match(text, /"mean": \[\n\s+0\.5,\n\s+1\.0\n\s+\]/);
    assert.deepEqual(JSON.parse(text), value);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
