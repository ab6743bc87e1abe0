// `mmit train ...` against the real trainer service: start (and follow to the end, printing the
// loss curve), ls, cancel and resume, through the same command definitions the mmit binary uses.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { newId } from '@mmit/contracts';
import { readScalars } from '@mmit/train';
import { TEST_ENCODER_KEY, writeTinyDataset } from '@mmit/train/testing';
import { Command } from 'commander';
import { lossChart, registerTrainCommands } from '../../../packages/cli/src/commands/train.js';
import { fixturesDir } from '../../../test/paths.js';
import { type Harness, startHarness } from './testing/harness.js';

let h: Harness;
let dir: string;
before(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'mmit-cli-train-'));
});
after(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs one mmit command line; returns what it printed. */
async function mmit(...args: string[]): Promise<string> {
  const program = new Command().name('mmit').option('--url <url>').option('--api-key <key>').exitOverride();
  registerTrainCommands(program);
  const printed: string[] = [];
  const log = console.log;
  const write = process.stderr.write.bind(process.stderr);
  console.log = (...parts: unknown[]) => printed.push(parts.join(' '));
  process.stderr.write = (() => true) as typeof process.stderr.write; // the progress bar
  try {
    await program.parseAsync(['node', 'mmit', '--url', h.url, ...args]);
  } finally {
    console.log = log;
    process.stderr.write = write;
  }
  return printed.join('\n');
}

test('train start follows the run to the end and prints the loss curve; ls lists it', async () => {
  const specFile = join(dir, 'spec.json');
  writeFileSync(
    specFile,
    JSON.stringify({
      datasetId: h.datasetId,
      encoder: { key: TEST_ENCODER_KEY },
      lm: { checkpoint: join(fixturesDir, 'tiny-llama') },
      optimizer: { lr: 1e-2 },
      batchSize: 4,
      evalEvery: 2,
      threads: 1,
    }),
  );
  const out = await mmit('train', 'start', specFile, '--epochs', '3', '--name', 'cli');
  const id = /run (r_\w+) queued/.exec(out)?.[1];
  assert.ok(id, out);
  assert.match(
    out,
    new RegExp(`run ${id} succeeded at step 9; weights in runs/${id}/checkpoints/step-9/weights.safetensors`),
  );
  assert.match(out, /\* train loss {3}o validation loss/);
  const listed = await mmit('train', 'ls');
  assert.match(listed, new RegExp(`${id}\\s+cli\\s+succeeded\\s+9/9`));
  process.exitCode = 0;
});

test('train start on audio samples with an image encoder: a 422 naming the counts; with allowDrops the run says what it leaves out', async () => {
  const mixed = newId('dataset');
  await writeTinyDataset(h.bucket, mixed, { train: 8, validation: 2, audio: 4 });
  const specFile = join(dir, 'mixed.json');
  const spec = {
    datasetId: mixed,
    encoder: { key: TEST_ENCODER_KEY },
    lm: { checkpoint: join(fixturesDir, 'tiny-llama') },
    batchSize: 4,
    steps: 2,
    threads: 1,
  };
  writeFileSync(specFile, JSON.stringify(spec));
  await assert.rejects(
    mmit('train', 'start', specFile),
    (err: Error) =>
      /\(422 unusable_samples\): dataset d_\w+: 4 of its 14 samples cannot be trained on by this run\. 4 samples: modality audio has no encoder in this run/.test(
        err.message,
      ) && /"allowDrops": true/.test(err.message),
  );

  writeFileSync(specFile, JSON.stringify({ ...spec, allowDrops: true }));
  const out = await mmit('train', 'start', specFile);
  assert.match(out, /trains on 10 of 14 samples \(encoder clip-\w+ reads image\)/);
  assert.match(out, /audio +4 samples \(3 train, 1 validation\) -> NO ENCODER/);
  assert.match(out, /WARNING: 4 samples left out: modality audio has no encoder in this run/);
  assert.match(out, /succeeded at step 2/);
  process.exitCode = 0;
});

test('train tensorboard copies the event files a run wrote; they read back as its metrics; a second copy appends nothing', async () => {
  const specFile = join(dir, 'tb.json');
  writeFileSync(
    specFile,
    JSON.stringify({
      datasetId: h.datasetId,
      encoder: { key: TEST_ENCODER_KEY },
      lm: { checkpoint: join(fixturesDir, 'tiny-llama') },
      batchSize: 4,
      steps: 3,
      evalEvery: 3,
      threads: 1,
    }),
  );
  const id = /run (r_\w+) queued/.exec(await mmit('train', 'start', specFile))?.[1] as string;
  const out = join(dir, 'tb');
  const first = await mmit('train', 'tensorboard', id, '--out', out);
  assert.match(
    first,
    new RegExp(`${id}: 1 event files, 1 updated \\(\\d+ bytes\\); run succeeded at step 3`),
  );
  assert.match(first, new RegExp(`open with: tensorboard --logdir ${out}`));
  assert.match(await mmit('train', 'tensorboard', id, '--out', out), /1 event files, 0 updated \(0 bytes\)/);
  const files = readdirSync(join(out, id)).map((f) => readFileSync(join(out, id, f)));
  const scalars = readScalars(files);
  const res = await fetch(`${h.url}/v1/runs/${id}/metrics`);
  const { items } = (await res.json()) as { items: { type: string; step: number; loss: number }[] };
  assert.deepEqual(
    scalars['train/loss'].map((r) => [r.step, r.value]),
    items.filter((l) => l.type === 'step').map((l) => [l.step, Math.fround(l.loss)]),
  );
  assert.deepEqual(
    scalars['eval/loss'].map((r) => r.step),
    [0, 3],
  );
  process.exitCode = 0;
});

test('lossChart puts the highest loss on the top row and the lowest on the bottom row', () => {
  const chart = lossChart(
    [
      { type: 'step', step: 1, loss: 4 },
      { type: 'step', step: 2, loss: 3 },
      { type: 'eval', step: 2, loss: 2 },
    ],
    10,
    5,
  ).split('\n');
  assert.match(chart[0], /^ {3}4\.000 \|\*/);
  assert.match(chart[4], /^ {3}2\.000 \| +o/);
});
