// Exports through the stack: a real trainer service over the test store with a tiny trained run
// (tiny CLIP tower, tiny Llama, LoRA), driven by the `mmit export` command definition the binary
// uses, against the service's URL. The downloaded folder must equal, file for file and byte for
// byte, what `mmit export --from-bucket` writes into the same place; bad requests are refused
// before any job exists; a download that fails half-way leaves no folder behind.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { keys, newId, type RunExport } from '@mmit/contracts';
import { trainTinyRun } from '@mmit/export/testing';
import type { RunningService } from '@mmit/service-kit';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { Command } from 'commander';
import { registerExportCommand } from '../../../packages/cli/src/commands/export.js';
import { fixturesDir } from '../../../test/paths.js';
import { createTrainerService, type TrainerService } from './app.js';
import { EXPORT_SERVICE } from './exports.js';

let store: TestStore;
let trainer: TrainerService;
let running: RunningService;
let runId: string;
let dir: string;

before(async () => {
  store = await startTestStore({
    name: 'trainer-export',
    retry: { retries: 2, baseDelayMs: 50, maxDelayMs: 200 },
  });
  runId = await trainTinyRun(store.bucket, { fixturesDir, lm: 'tiny-llama', lora: true });
  trainer = createTrainerService({
    env: { MMIT_TRAINER_PORT: '0', MMIT_LOG_LEVEL: 'silent', MMIT_JOB_POLL_MS: '100' },
    bucket: store.config,
    stateIntervalMs: 0,
  });
  running = await trainer.start();
  dir = mkdtempSync(join(tmpdir(), 'mmit-export-cli-'));
});
after(async () => {
  await running?.close();
  await store?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs one `mmit export` line against the service (or the bucket, with store env); returns output and exit code. */
async function mmit(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ out: string; err: string; code: number }> {
  const program = new Command().name('mmit').option('--url <url>').option('--api-key <key>').exitOverride();
  registerExportCommand(program);
  const printed: string[] = [];
  const errors: string[] = [];
  const { log, error } = console;
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  console.log = (...parts: unknown[]) => printed.push(parts.join(' '));
  console.error = (...parts: unknown[]) => errors.push(parts.join(' '));
  Object.assign(process.env, env);
  process.exitCode = 0;
  try {
    await program.parseAsync(['node', 'mmit', '--url', running.url, 'export', ...args]);
  } finally {
    console.log = log;
    console.error = error;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out: printed.join('\n'), err: errors.join('\n'), code };
}

/** Every file under `root` (relative path -> bytes). */
function folderBytes(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const path = join(e.parentPath, e.name);
      files.set(relative(root, path), readFileSync(path));
    }
  }
  return files;
}

async function exportsOf(run: string): Promise<RunExport[]> {
  const res = await fetch(`${running.url}/v1/runs/${run}/exports`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { items: RunExport[] }).items;
}

async function countJobs(): Promise<number> {
  let n = 0;
  for await (const _ of store.bucket.list(keys.jobsPrefix(EXPORT_SERVICE))) n++;
  return n;
}

let exportId: string;

test('mmit export through the service writes the same folder, byte for byte, as a direct export from the bucket', async () => {
  const out = join(dir, 'llava');
  const args = [
    runId,
    '--out',
    out,
    '--format',
    'both',
    '--no-merge-lora',
    '--max-shard-size',
    '20KB',
    '--no-bar',
  ];
  const direct = await mmit([...args, '--from-bucket'], store.env);
  assert.equal(direct.code, 0, direct.err);
  const expected = folderBytes(out);
  rmSync(out, { recursive: true });

  const served = await mmit(args);
  assert.equal(served.code, 0, served.err);
  exportId = /export (j_\w+) queued/.exec(served.out)?.[1] ?? '';
  assert.ok(exportId, served.out);
  assert.match(served.out, /downloading \d+ files/);
  assert.match(served.out, /Hugging Face LLaVA folder: .*\/llava\/hf \(\d+ tensors; LoRA not merged/);
  assert.match(served.out, /transformers\.js folder: .*\/llava\/transformers\.js/);
  assert.match(served.out, new RegExp(`exported run ${runId} at step 2 \\(export ${exportId}`));
  const got = folderBytes(out);
  assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
  // Sharded (20 KB shards), LoRA unmerged: the adapter names the downloaded folder as its base.
  assert.ok(got.has(join('hf', 'model.safetensors.index.json')), [...got.keys()].join(', '));
  const adapter = JSON.parse(got.get(join('hf', 'lora-adapter', 'adapter_config.json'))!.toString('utf8'));
  assert.equal(adapter.base_model_name_or_path, join(out, 'hf'));
  for (const [path, bytes] of expected) assert.ok(bytes.equals(got.get(path)!), `${path} differs`);
  // No staging folder is left beside it.
  assert.deepEqual(readdirSync(dir), ['llava']);

  const [listed] = await exportsOf(runId);
  assert.equal(listed.id, exportId);
  assert.equal(listed.status, 'succeeded');
  assert.equal(listed.progress.unit, 'bytes');
  assert.equal(listed.manifest?.files.length, expected.size);
  assert.equal(listed.manifest?.step, 2);
});

test('a file resumes from a byte range; unlisted paths and ranges past the end are refused', async () => {
  const base = `${running.url}/v1/runs/${runId}/exports/${exportId}/file?path=`;
  const whole = Buffer.from(await (await fetch(`${base}hf/config.json`)).arrayBuffer());
  const res = await fetch(`${base}hf/config.json`, { headers: { range: 'bytes=10-' } });
  assert.equal(res.status, 206);
  assert.equal(res.headers.get('content-range'), `bytes 10-${whole.length - 1}/${whole.length}`);
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(whole.subarray(10)));
  const past = await fetch(`${base}hf/config.json`, { headers: { range: `bytes=${whole.length}-` } });
  assert.equal(past.status, 416);
  assert.equal(((await past.json()) as { code: string }).code, 'range_not_satisfiable');
  const missing = await fetch(`${base}hf/nothing.json`);
  assert.equal(missing.status, 404);
  const outside = await fetch(`${base}${encodeURIComponent('../../runs/x')}`);
  assert.equal(outside.status, 400);
});

test('bad requests are refused with problem+json before any export job exists', async () => {
  const before = await countJobs();
  const post = (run: string, body: unknown) =>
    fetch(`${running.url}/v1/runs/${run}/exports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const cases: [string, unknown, number, string, RegExp][] = [
    [newId('run'), {}, 404, 'not_found', /not found/],
    [runId, { format: 'gguf' }, 400, 'validation', /body\.format: Invalid option/],
    [runId, { step: 999 }, 404, 'not_found', /no checkpoint at step 999; it has: 2/],
    [runId, { maxShardBytes: -1 }, 400, 'validation', /body\.maxShardBytes/],
    [runId, { format: 'hf', extra: true }, 400, 'validation', /extra/],
  ];
  for (const [run, body, status, code, detail] of cases) {
    const res = await post(run, body);
    assert.equal(res.status, status, JSON.stringify(body));
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    const problem = (await res.json()) as { type: string; code: string; detail: string };
    assert.equal(problem.type, `urn:mmit:problem:${code}`);
    assert.match(problem.detail, detail);
  }
  assert.equal(await countJobs(), before);

  // The CLI says the service's words and writes nothing.
  const out = join(dir, 'refused');
  const cli = await mmit([runId, '--out', out, '--step', '999', '--no-bar']);
  assert.equal(cli.code, 1);
  assert.match(cli.err, /mmit export: Not found \(404 not_found\): run r_\w+ has no checkpoint at step 999/);
  assert.equal(existsSync(out), false);
});

test('a download that fails half-way (a file gone, a file changed) leaves no folder', async () => {
  const found = (await exportsOf(runId)).find((e) => e.id === exportId)!;
  const files = found.manifest!.files;
  const last = files.at(-1)!;
  const lastKey = keys.runExportFile(runId, exportId, last.path);
  const saved = await store.bucket.getBuffer(lastKey);

  await store.bucket.delete(lastKey);
  const out = join(dir, 'broken');
  const gone = await mmit([runId, '--out', out, '--export', exportId, '--no-bar']);
  assert.equal(gone.code, 1);
  assert.match(gone.err, /404/);
  assert.equal(existsSync(out), false);

  // Same size, other bytes: the sha256 check refuses it.
  const changed = Buffer.from(saved);
  changed[0] ^= 0xff;
  await store.bucket.putBuffer(lastKey, changed);
  const corrupt = await mmit([runId, '--out', out, '--export', exportId, '--no-bar']);
  assert.equal(corrupt.code, 1);
  assert.match(
    corrupt.err,
    new RegExp(`${last.path}: sha256 [0-9a-f]+ differs from the manifest's ${last.sha256}`),
  );
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dirname(out)).sort(), ['llava']);
  await store.bucket.putBuffer(lastKey, saved);
});
