import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixturesDir } from '../../../test/paths.js';
import { CheckpointNotFoundError, isRepoId, resolveCheckpoint } from './hub.js';

test('a local folder resolves to itself', async () => {
  const dir = join(fixturesDir, 'tiny-llama');
  assert.equal(await resolveCheckpoint(dir), dir);
});

test('a repo id already in our cache resolves without the network', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'mmit-hub-'));
  try {
    const target = join(cache, 'models', 'acme', 'tiny', 'main');
    mkdirSync(target, { recursive: true });
    writeFileSync(join(target, 'config.json'), '{}');
    writeFileSync(join(target, 'model.safetensors'), '');
    assert.equal(await resolveCheckpoint('acme/tiny', { cacheDir: cache, offline: true }), target);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('offline and not cached: a clear error naming the repo, and no server path (it can reach API clients)', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'mmit-hub-'));
  try {
    await assert.rejects(
      resolveCheckpoint('HuggingFaceTB/SmolLM2-135M', { cacheDir: cache, offline: true }),
      (e: Error) =>
        e instanceof CheckpointNotFoundError &&
        e.message.includes('SmolLM2-135M') &&
        /HF_HUB_OFFLINE/.test(e.message) &&
        !e.message.includes(cache),
    );
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('download failure (no network here, or an unreachable endpoint) is reported, not thrown raw', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'mmit-hub-'));
  try {
    await assert.rejects(
      resolveCheckpoint('acme/absent', { cacheDir: cache, endpoint: 'http://127.0.0.1:9' }),
      (e: Error) =>
        e instanceof CheckpointNotFoundError && /acme\/absent.*downloading it failed/.test(e.message),
    );
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('repo ids versus paths', () => {
  assert.ok(isRepoId('Qwen/Qwen2.5-0.5B'));
  assert.ok(!isRepoId('../etc/passwd'));
  assert.ok(!isRepoId('just-a-name'));
  assert.ok(!isRepoId('a/b/c'));
});
