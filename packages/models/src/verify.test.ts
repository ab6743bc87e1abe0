import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSafetensors, toNumbers, writeSafetensors } from '@mmit/tensor';
import { fixturesDir } from '../../../test/paths.js';
import { formatResult, listCases, runCase, verifyFolder } from './verify.js';

// Parity over every golden case (HF transformers' own numbers), each within the README's tolerances.
for (const file of listCases(fixturesDir)) {
  test(`parity: ${file}`, async () => {
    const result = await runCase(fixturesDir, file);
    assert.equal(result.error, undefined, result.error);
    assert.ok(result.measures.length > 0);
    assert.ok(result.ok, formatResult(result));
  });
}

test('a case outside tolerance fails, naming the measure', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmit-verify-'));
  try {
    for (const entry of readdirSync(fixturesDir))
      if (!entry.startsWith('case_')) symlinkSync(join(fixturesDir, entry), join(dir, entry));
    const { tensors, metadata } = readSafetensors(join(fixturesDir, 'case_lm_qwen2.safetensors'));
    const loss = toNumbers(tensors.loss)[0];
    tensors.loss = { dtype: 'float32', dims: [1], data: Float32Array.of(loss * (1 + 1e-4)) };
    writeSafetensors(join(dir, 'case_lm_qwen2.safetensors'), tensors, metadata);
    const [result] = await verifyFolder(dir);
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.measures.filter((m) => !m.ok).map((m) => m.name),
      ['loss'],
    );
    assert.match(formatResult(result), /^FAIL case_lm_qwen2 .*!loss=/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown case kind is a failed case, not a crash', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmit-verify-'));
  try {
    writeSafetensors(
      join(dir, 'case_odd.safetensors'),
      { x: { dtype: 'float32', dims: [1], data: Float32Array.of(1) } },
      { json: '{"kind":"teleport"}' },
    );
    const [result] = await verifyFolder(dir);
    assert.equal(result.ok, false);
    assert.match(result.error ?? '', /teleport.*known: tokenizer, lm_forward/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
