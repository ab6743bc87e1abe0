import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { caseRunners, formatResult, listCases, runCase } from '@mmit/models';
import { decoderFixturesDir } from '../../../test/paths.js';
import { inferenceCaseRunners } from './verify-cases.js';

const runners = { ...caseRunners, ...inferenceCaseRunners };

// Qwen3, Gemma 2, Gemma 3 text and Phi-3 against transformers: forward + loss, greedy decoding with
// the KV cache step by step, and projector gradients through the frozen LM.
for (const file of listCases(decoderFixturesDir)) {
  test(`parity: ${file}`, async () => {
    const result = await runCase(decoderFixturesDir, file, 'cpu', runners);
    assert.equal(result.error, undefined, result.error);
    assert.ok(result.measures.length > 0);
    assert.ok(result.ok, formatResult(result));
  });
}

test('cached decoding that ignores the sliding window leaves the reference', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmit-generate-'));
  try {
    cpSync(decoderFixturesDir, dir, { recursive: true });
    const configPath = join(dir, 'tiny-gemma2', 'config.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8'));
    writeFileSync(configPath, JSON.stringify({ ...config, sliding_window: 4096 }));
    const result = await runCase(dir, 'case_generate_gemma2.safetensors', 'cpu', runners);
    assert.equal(result.ok, false, formatResult(result));
    assert.ok(result.measures.find((m) => m.name === 'step_logits' && !m.ok));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
