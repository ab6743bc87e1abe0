import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FakeHub, startFakeHub } from '../../../test/fake-hub.js';
import { fixturesDir } from '../../../test/paths.js';
import { loadCheckpoint } from './checkpoint.js';
import {
  CheckpointNotFoundError,
  type HubProgress,
  hubRepoFolder,
  isRepoId,
  resolveCheckpoint,
  resolveHubCheckpoint,
} from './hub.js';

const tinyLlama = join(fixturesDir, 'tiny-llama');
const tinyFiles = () =>
  Object.fromEntries(readdirSync(tinyLlama).map((name) => [name, readFileSync(join(tinyLlama, name))]));
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const gitOid = (bytes: Buffer) =>
  createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');

let hub: FakeHub;
before(async () => {
  hub = await startFakeHub();
});
after(() => hub.close());

/** A fresh cache folder for one test, removed after it. */
function withCache(t: { after(fn: () => void): void }): string {
  const cache = mkdtempSync(join(tmpdir(), 'mmit-hub-'));
  t.after(() => rmSync(cache, { recursive: true, force: true }));
  return cache;
}

test('a local folder resolves to itself', async () => {
  assert.equal(await resolveCheckpoint(tinyLlama), tinyLlama);
});

test("a fresh download lands in Python's layout: refs, blobs named by etag, relative symlinks in snapshots", async (t) => {
  const cache = withCache(t);
  const files = tinyFiles();
  const commit = hub.commit('acme/fresh', files);
  const resolved = await resolveHubCheckpoint('acme/fresh', { cacheDir: cache, endpoint: hub.url });
  const repoDir = join(cache, 'models--acme--fresh');
  assert.deepEqual(resolved, { dir: join(repoDir, 'snapshots', commit), repoId: 'acme/fresh', commit });
  assert.equal(readFileSync(join(repoDir, 'refs', 'main'), 'utf8'), commit);
  for (const [name, bytes] of Object.entries(files)) {
    const pointer = join(resolved.dir, name);
    assert.ok(lstatSync(pointer).isSymbolicLink(), `${name} is a symlink`);
    // LFS files are named by their sha256, the others by their git blob id, as Python names them.
    const etag = name.endsWith('.safetensors') ? sha256(bytes) : gitOid(bytes);
    assert.equal(readlinkSync(pointer), join('..', '..', 'blobs', etag), name);
    assert.deepEqual(readFileSync(pointer), bytes, name);
  }
  // Optional files the repo lacks are marked as Python marks them.
  assert.ok(existsSync(join(repoDir, '.no_exist', commit, 'preprocessor_config.json')));
  assert.ok(!readdirSync(join(repoDir, 'blobs')).some((f) => f.endsWith('.incomplete')));
  // The real loader opens what came down.
  const checkpoint = await loadCheckpoint('acme/fresh', { cacheDir: cache, offline: true });
  assert.equal(checkpoint.dir, resolved.dir);
});

test('a snapshot Python left in the cache resolves offline, through its refs file', async (t) => {
  const cache = withCache(t);
  const commit = 'a'.repeat(40);
  const repoDir = hubRepoFolder('acme/python-made', cache);
  const snapshot = join(repoDir, 'snapshots', commit);
  mkdirSync(snapshot, { recursive: true });
  mkdirSync(join(repoDir, 'refs'));
  writeFileSync(join(repoDir, 'refs', 'main'), commit);
  writeFileSync(join(snapshot, 'config.json'), '{}');
  writeFileSync(join(snapshot, 'model.safetensors'), '');
  assert.deepEqual(await resolveHubCheckpoint('acme/python-made', { cacheDir: cache, offline: true }), {
    dir: snapshot,
    repoId: 'acme/python-made',
    commit,
  });
});

test('a connection cut mid-file resumes with a range request, and progress climbs to the total', async (t) => {
  const cache = withCache(t);
  const files = tinyFiles();
  hub.commit('acme/cut', files);
  const weights = files['model.safetensors']!;
  const cutAt = 200_000;
  hub.cutAfter('model.safetensors', cutAt);
  const seen = hub.requests.length;
  const events: HubProgress[] = [];
  const resolved = await resolveHubCheckpoint('acme/cut', {
    cacheDir: cache,
    endpoint: hub.url,
    progressIntervalMs: 0,
    onProgress: (p) => events.push(p),
  });
  const cdn = hub.requests
    .slice(seen)
    .filter((r) => r.path === `/cdn/${sha256(weights)}` && r.range !== 'bytes=0-0');
  for (const r of cdn)
    console.log(`  weights request: ${r.method} ${r.path.slice(0, 18)}... range ${r.range ?? '(whole)'}`);
  assert.equal(cdn.length, 2, 'one cut download, one resumed');
  assert.equal(cdn[0]!.range, null);
  const resumedFrom = Number(/^bytes=(\d+)-/.exec(cdn[1]!.range ?? '')?.[1]);
  // Everything written before the cut is kept: the retry asks only for the rest.
  assert.ok(resumedFrom > 0 && resumedFrom <= cutAt, `resumed from ${resumedFrom}`);
  assert.deepEqual(readFileSync(join(resolved.dir, 'model.safetensors')), weights);

  const total = Object.values(files).reduce((sum, b) => sum + b.length, 0);
  for (let i = 1; i < events.length; i++)
    assert.ok(events[i]!.bytes >= events[i - 1]!.bytes, `event ${i} went back`);
  assert.ok(events.every((e) => e.total === total && e.fileBytes <= e.fileTotal));
  assert.equal(events.at(-1)!.bytes, total);
  const onWeights = events.filter((e) => e.file === 'model.safetensors');
  console.log(
    `  progress: ${events.length} events; weights file: ${onWeights.map((e) => e.fileBytes).join(' ')} of ${weights.length}; last ${events.at(-1)!.bytes}/${total}`,
  );
});

test('an .incomplete blob left by an earlier process (or Python) is continued, not restarted', async (t) => {
  const cache = withCache(t);
  const files = tinyFiles();
  hub.commit('acme/partial', files);
  const weights = files['model.safetensors']!;
  const blobs = join(hubRepoFolder('acme/partial', cache), 'blobs');
  mkdirSync(blobs, { recursive: true });
  writeFileSync(join(blobs, `${sha256(weights)}.incomplete`), weights.subarray(0, 123_456));
  const seen = hub.requests.length;
  const dir = await resolveCheckpoint('acme/partial', { cacheDir: cache, endpoint: hub.url });
  const ranges = hub.requests
    .slice(seen)
    .filter((r) => r.path.startsWith('/cdn/') && r.range !== 'bytes=0-0')
    .map((r) => r.range);
  assert.deepEqual(ranges, [`bytes=123456-${weights.length - 1}`]);
  assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), weights);
});

test('a pinned commit gives its own files after the branch moved; the branch gives the new ones', async (t) => {
  const cache = withCache(t);
  const files = tinyFiles();
  const first = hub.commit('acme/moving', files);
  const pinned = await resolveHubCheckpoint('acme/moving', { cacheDir: cache, endpoint: hub.url });
  assert.equal(pinned.commit, first);
  const config = JSON.parse(files['config.json']!.toString()) as Record<string, unknown>;
  const second = hub.commit('acme/moving', {
    ...files,
    'config.json': JSON.stringify({ ...config, note: 'moved' }),
  });
  const again = await resolveHubCheckpoint('acme/moving', {
    cacheDir: cache,
    endpoint: hub.url,
    revision: first,
  });
  assert.equal(again.dir, pinned.dir);
  assert.ok(!readFileSync(join(again.dir, 'config.json'), 'utf8').includes('moved'));
  // Pinned and cached: no need to ask the hub, so it works offline too.
  const offline = await resolveHubCheckpoint('acme/moving', {
    cacheDir: cache,
    offline: true,
    revision: first,
  });
  assert.equal(offline.dir, pinned.dir);
  const latest = await resolveHubCheckpoint('acme/moving', { cacheDir: cache, endpoint: hub.url });
  assert.equal(latest.commit, second);
  assert.ok(readFileSync(join(latest.dir, 'config.json'), 'utf8').includes('moved'));
  // The unchanged weights were not fetched twice: both snapshots link one blob.
  assert.equal(
    readdirSync(join(hubRepoFolder('acme/moving', cache), 'blobs')).filter((f) => f.length === 64).length,
    1,
  );
});

test('a commit asked for that the cache lacks is downloaded at that commit, even when the branch is elsewhere', async (t) => {
  const cache = withCache(t);
  const files = tinyFiles();
  const old = hub.commit('acme/old', files);
  hub.commit('acme/old', { ...files, 'config.json': '{"model_type":"llama","note":"new"}' });
  const resolved = await resolveHubCheckpoint('acme/old', {
    cacheDir: cache,
    endpoint: hub.url,
    revision: old,
  });
  assert.equal(resolved.commit, old);
  assert.deepEqual(readFileSync(join(resolved.dir, 'config.json')), files['config.json']);
});

test('offline and not cached: a clear error naming the repo and the cache, and no server path', async (t) => {
  const cache = withCache(t);
  await assert.rejects(
    resolveCheckpoint('HuggingFaceTB/SmolLM2-135M', { cacheDir: cache, offline: true }),
    (e: Error) =>
      e instanceof CheckpointNotFoundError &&
      e.message.includes('HuggingFaceTB/SmolLM2-135M') &&
      /not in the Hugging Face cache/.test(e.message) &&
      /HF_HUB_OFFLINE/.test(e.message) &&
      !e.message.includes(cache),
  );
});

test('HF_HUB_OFFLINE=1 keeps the hub untouched', async (t) => {
  const cache = withCache(t);
  hub.commit('acme/env-offline', tinyFiles());
  const seen = hub.requests.length;
  const saved = process.env.HF_HUB_OFFLINE;
  process.env.HF_HUB_OFFLINE = '1';
  t.after(() => {
    if (saved === undefined) delete process.env.HF_HUB_OFFLINE;
    else process.env.HF_HUB_OFFLINE = saved;
  });
  await assert.rejects(
    resolveCheckpoint('acme/env-offline', { cacheDir: cache, endpoint: hub.url }),
    /HF_HUB_OFFLINE/,
  );
  assert.equal(hub.requests.length, seen);
});

test('download failure (an unreachable endpoint, an unknown repo) is reported, not thrown raw', async (t) => {
  const cache = withCache(t);
  for (const endpoint of ['http://127.0.0.1:9', hub.url]) {
    await assert.rejects(
      resolveCheckpoint('acme/absent', { cacheDir: cache, endpoint, retries: 0 }),
      (e: Error) =>
        e instanceof CheckpointNotFoundError && /acme\/absent.*downloading it failed/.test(e.message),
    );
  }
});

test('repo ids versus paths', () => {
  assert.ok(isRepoId('Qwen/Qwen2.5-0.5B'));
  assert.ok(!isRepoId('../etc/passwd'));
  assert.ok(!isRepoId('just-a-name'));
  assert.ok(!isRepoId('a/b/c'));
});
