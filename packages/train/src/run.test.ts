// Whole runs over a real embedded S3 server: a dataset and cached features in the bucket, the
// tiny Llama fixture as the LM. Kill-and-resume gives the losses of an uninterrupted run, and
// training lowers the validation loss.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  keys,
  newId,
  type RunSpecInput,
  RunSpecSchema,
  RunStateSchema,
  TrainingSettingsSchema,
} from '@mmit/contracts';
import { FeatureReader } from '@mmit/features';
import type { Bucket } from '@mmit/storage';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import type { HostTensor } from '@mmit/tensor';
import { fixturesDir } from '../../../test/paths.js';
import { checkpointSteps } from './checkpoint.js';
import { UnusableSamplesError } from './coverage.js';
import { loadDataset } from './dataset.js';
import { buildExamples } from './examples.js';
import { MemoryFeatures } from './features.js';
import type { StepMetrics } from './loop.js';
import { imageTokenIdOf, openLm } from './preflight.js';
import { padTokenIdOf, prepareTrainer } from './prepare.js';
import { RunRecorder, readMetrics } from './recorder.js';
import { executeRun } from './run.js';
import { initialRunState } from './state.js';
import { TEST_ENCODER_KEY, writeTinyDataset } from './testing.js';
import { readScalars } from './tfevents.js';

let store: TestStore;
let bucket: Bucket;
let datasetId: string;

before(async () => {
  store = await startTestStore({ name: 'train-it' });
  bucket = store.bucket;
  datasetId = newId('dataset');
  await writeTinyDataset(bucket, datasetId, { train: 12, validation: 6 });
});
after(() => store?.stop());

/** The training settings of these tests' runs; `spec` adds the dataset, encoder and LM. */
const SETTINGS = {
  optimizer: { lr: 5e-3, weightDecay: 0.01 },
  batchSize: 4,
  gradAccumulation: 1,
  seed: 7,
  threads: 1,
} as const;

function spec(extra: Partial<RunSpecInput> = {}) {
  return RunSpecSchema.parse({
    datasetId,
    encoder: { key: TEST_ENCODER_KEY },
    lm: { checkpoint: join(fixturesDir, 'tiny-llama') },
    ...SETTINGS,
    ...extra,
  });
}

async function run(runId: string, s: ReturnType<typeof spec>, signal?: AbortSignal) {
  const state = (await bucket.getJsonIfExists(`runs/${runId}/state.json`)) as
    | ReturnType<typeof initialRunState>
    | undefined;
  const recorder = new RunRecorder(bucket, state ?? initialRunState(runId, undefined, new Date()), {
    stateIntervalMs: 0,
  });
  await executeRun({ bucket, spec: s, recorder, signal });
  return recorder;
}

const stepLosses = async (runId: string) =>
  (await readMetrics(bucket, runId)).filter((l) => l.type === 'step').map((l) => l.loss);

test('a run killed after its checkpoint at step 4 and resumed gives the uninterrupted losses (1e-6)', async () => {
  const s = spec({ steps: 9, checkpointEvery: 2, gradAccumulation: 2, batchSize: 3 });
  const whole = newId('run');
  await run(whole, s);
  const expected = await stepLosses(whole);
  assert.equal(expected.length, 9);

  const killed = newId('run');
  const controller = new AbortController();
  const stop = new Error('killed');
  // Abort after step 5's metrics: step 5 is lost work, the resume starts from step 4's checkpoint.
  const recorder = new RunRecorder(bucket, initialRunState(killed, undefined, new Date()), {
    stateIntervalMs: 0,
    onEvent: (e) => {
      if (e.type === 'step' && e.metrics.step === 5) controller.abort(stop);
    },
  });
  await assert.rejects(executeRun({ bucket, spec: s, recorder, signal: controller.signal }), /killed/);
  assert.deepEqual(await checkpointSteps(bucket, killed), [2, 4]);
  await recorder.writeState();

  const resumed = await run(killed, s);
  assert.equal(resumed.state.status, 'succeeded');
  assert.equal(resumed.state.step, 9);
  const got = await stepLosses(killed);
  assert.equal(got.length, 9, 'metrics.jsonl holds each step once');
  got.forEach((loss, i) => {
    assert.ok(
      Math.abs(loss - expected[i]) <= 1e-6 * Math.abs(expected[i]),
      `step ${i + 1}: ${loss} vs ${expected[i]}`,
    );
  });
});

test("the resumed run's TensorBoard event files (one per attempt) read back as metrics.jsonl, each step once", async () => {
  const s = spec({ steps: 6, checkpointEvery: 3, evalEvery: 3 });
  const runId = newId('run');
  const controller = new AbortController();
  const recorder = new RunRecorder(bucket, initialRunState(runId, undefined, new Date()), {
    stateIntervalMs: 0,
    tensorboard: { host: 'test-host' },
    onEvent: (e) => {
      if (e.type === 'step' && e.metrics.step === 5) controller.abort(new Error('killed'));
    },
  });
  await assert.rejects(executeRun({ bucket, spec: s, recorder, signal: controller.signal }), /killed/);
  await recorder.flushMetrics(); // the attempt's last write, as a stop that is not a kill makes it
  const second = initialRunState(runId, undefined, new Date());
  const resumed = new RunRecorder(
    bucket,
    { ...second, attempt: 2 },
    { stateIntervalMs: 0, tensorboard: { host: 'test-host' } },
  );
  await executeRun({ bucket, spec: s, recorder: resumed });

  const names: string[] = [];
  for await (const o of bucket.list(keys.runTensorboardPrefix(runId))) names.push(o.key);
  assert.equal(names.length, 2);
  assert.match(names[0], /tensorboard\/events\.out\.tfevents\.\d{10}\.test-host\.001-000$/);
  assert.match(names[1], /\.test-host\.002-000$/);
  const files = await Promise.all(names.sort().map((k) => bucket.getBuffer(k)));
  // The first attempt logged steps 1-5 (4 and 5 lost with it: its checkpoint is at 3); the second starts at 4.
  assert.deepEqual(
    readScalars([files[0]])['train/loss'].map((r) => r.step),
    [1, 2, 3, 4, 5],
  );
  const scalars = readScalars(files);
  const lines = await readMetrics(bucket, runId);
  const steps = lines.filter((l) => l.type === 'step');
  assert.deepEqual(
    scalars['train/loss'].map((r) => [r.step, r.value]),
    steps.map((l) => [l.step, Math.fround(l.loss)]),
  );
  assert.deepEqual(
    scalars['eval/loss'].map((r) => [r.step, r.value]),
    lines.filter((l) => l.type === 'eval').map((l) => [l.step, Math.fround(l.loss)]),
  );
  for (const tag of [
    'train/lr',
    'train/lr/projector',
    'train/grad_norm',
    'train/tokens_per_sec',
    'train/samples_per_sec',
  ])
    assert.equal(scalars[tag]?.length, 6, tag);
  console.log(
    `read back: ${Object.keys(scalars).length} tags; train/loss ${scalars['train/loss'].map((r) => `${r.step}:${r.value.toFixed(4)}`).join(' ')}; eval/loss ${scalars['eval/loss'].map((r) => `${r.step}:${r.value.toFixed(4)}`).join(' ')}`,
  );
  // For a one-off check with TensorBoard's own reader (bench/goldens/check_tfevents.py).
  const out = process.env.MMIT_TFEVENTS_OUT;
  if (out) {
    mkdirSync(out, { recursive: true });
    for (const [i, k] of names.entries()) writeFileSync(join(out, k.split('/').at(-1) as string), files[i]);
  }
});

test('training lowers the validation loss; eval lines and counts land in the bucket', async () => {
  const runId = newId('run');
  const recorder = await run(runId, spec({ epochs: 6, evalEvery: 3, batchSize: 4, optimizer: { lr: 1e-2 } }));
  const evals = (await readMetrics(bucket, runId)).filter((l) => l.type === 'eval');
  assert.deepEqual(
    evals.map((e) => e.step),
    [0, 3, 6, 9, 12, 15, 18],
  );
  const first = evals[0].loss;
  const last = evals[evals.length - 1].loss;
  assert.ok(last < first * 0.9, `validation loss ${first} -> ${last}`);
  assert.deepEqual(recorder.state.data, {
    train: 12,
    validation: 6,
    truncated: 0,
    dropped: 0,
    dropReasons: {},
  });
  assert.equal(recorder.state.totalSteps, 18);
  assert.equal(recorder.state.lastCheckpoint?.step, 18);
});

test("with LoRA at its own rate, every step reports both groups' rates under the schedule", async () => {
  const runId = newId('run');
  await run(
    runId,
    spec({
      steps: 4,
      batchSize: 4,
      lora: { rank: 2, alpha: 4, targets: ['q_proj'] },
      optimizer: { lr: 1e-2, loraLr: 1e-3 },
      schedule: { type: 'constant', warmupSteps: 2 },
    }),
  );
  // transformers' warm-up: the first step's rate is 0, the last warm-up step's is half.
  const steps = (await readMetrics(bucket, runId)).filter((l) => l.type === 'step');
  assert.deepEqual(
    steps.map((s) => s.lrs),
    [0, 0.5, 1, 1].map((m) => ({ projector: 1e-2 * m, lora: 1e-3 * m })),
  );
  assert.deepEqual(
    steps.map((s) => s.lr),
    [0, 0.5, 1, 1].map((m) => 1e-2 * m),
  );
});

test('the samples come back in an order fixed by their content, not by their ids or parts', async () => {
  const sample = (id: string, sha: string, answer: string) =>
    JSON.stringify({
      id,
      conversations: [
        { from: 'human', value: '<image>\nWhat is it?' },
        { from: 'gpt', value: answer },
      ],
      mediaSha256: sha,
    });
  const [a, b, c] = ['a', 'b', 'c'].map((x) => x.repeat(64));
  const write = async (datasetId: string, parts: string[][]) => {
    await bucket.putJson(keys.datasetManifest(datasetId), { id: datasetId, status: 'ready' });
    for (const [n, lines] of parts.entries())
      await bucket.putBuffer(keys.datasetSamples(datasetId, n), Buffer.from(`${lines.join('\n')}\n`));
  };
  const [first, second] = [newId('dataset'), newId('dataset')];
  await write(first, [[sample('x1', c, 'one'), sample('x2', a, 'two')], [sample('x3', b, 'three')]]);
  await write(second, [[sample('y9', b, 'three')], [sample('y1', a, 'two'), sample('y5', c, 'one')]]);
  const view = async (id: string) =>
    (await loadDataset(bucket, id)).map((s) => [s.media, s.conversations[1].value]);
  assert.deepEqual(await view(first), await view(second));
  assert.deepEqual(
    (await view(first)).map(([media]) => media),
    [a, b, c],
  );
});

test('a run over audio samples with an image encoder refuses to start, naming the counts; allowDrops trains without them', async () => {
  const mixed = newId('dataset');
  await writeTinyDataset(bucket, mixed, { train: 8, validation: 2, audio: 4 });
  const refused = newId('run');
  const recorder = new RunRecorder(bucket, initialRunState(refused, undefined, new Date()), {
    stateIntervalMs: 0,
  });
  await assert.rejects(
    executeRun({ bucket, spec: spec({ datasetId: mixed, steps: 2 }), recorder }),
    (err: unknown) =>
      err instanceof UnusableSamplesError &&
      err.message.includes(`4 of its 14 samples cannot be trained on`) &&
      err.message.includes(`modality audio has no encoder in this run (${TEST_ENCODER_KEY} reads image)`),
  );
  // The coverage was told (stored) before the refusal.
  const stored = RunStateSchema.parse(await bucket.getJsonIfExists(keys.runState(refused)));
  assert.deepEqual(stored.coverage?.modalities, {
    image: { samples: 10, train: 8, validation: 2, encoder: TEST_ENCODER_KEY },
    audio: { samples: 4, train: 3, validation: 1, encoder: null },
  });

  const allowed = await run(newId('run'), spec({ datasetId: mixed, steps: 2, allowDrops: true }));
  assert.equal(allowed.state.status, 'succeeded');
  assert.deepEqual(allowed.state.data?.dropReasons, {
    [`modality audio has no encoder in this run (${TEST_ENCODER_KEY} reads image)`]: 4,
  });
  assert.match(
    allowed.state.message ?? '',
    /10 of 14 samples usable: .*Left out: 4 \(modality audio has no encoder/,
  );
});

test('media without cached features refuse the run (no features service to ask), naming the features job', async () => {
  const partial = newId('dataset');
  await writeTinyDataset(bucket, partial, { train: 8, validation: 2, withoutFeatures: 3 });
  const recorder = new RunRecorder(bucket, initialRunState(newId('run'), undefined, new Date()), {
    stateIntervalMs: 0,
  });
  await assert.rejects(
    executeRun({ bucket, spec: spec({ datasetId: partial, steps: 1 }), recorder }),
    /3 samples: features missing for 3 media under clip-\w+: run the features job for this dataset; compute them \(mmit features run/,
  );
});

test("a run over features in memory takes the trainer service's steps: same losses, rates and norms", async () => {
  const runId = newId('run');
  const s = spec({ steps: 6, schedule: { warmupSteps: 2 } });
  await run(runId, s);
  const service = (await readMetrics(bucket, runId)).filter((l) => l.type === 'step');
  assert.equal(service.length, 6);

  // The same run without the bucket on the training side: features copied into memory, the
  // examples built by the same code, the settings parsed on their own (no dataset, encoder, LM),
  // so the schema's defaults must be the RunSpec's.
  const samples = await loadDataset(bucket, datasetId);
  const reader = new FeatureReader(bucket, TEST_ENCODER_KEY);
  const blocks = new Map<string, HostTensor>();
  for (const sample of samples) {
    if (sample.media && (await reader.has(sample.media))) {
      blocks.set(sample.media, (await reader.read(sample.media)).features);
    }
  }
  const { lm, tokenizer } = await openLm(s);
  const imageTokenId = imageTokenIdOf(tokenizer, lm, s);
  const [first] = blocks.values();
  const sets = buildExamples(samples, tokenizer, s.template, {
    imageToken: s.lm.imageToken,
    imageTokenId,
    imageRows: first.dims[0],
    maxSeqLen: s.maxSeqLen,
    dropReason: (sample) => (sample.media && blocks.has(sample.media) ? undefined : 'no cached features'),
  });
  const settings = TrainingSettingsSchema.parse({ ...SETTINGS, steps: 6, schedule: { warmupSteps: 2 } });
  const prepared = await prepareTrainer(settings, {
    lm,
    imageTokenId,
    featureWidth: first.dims[1],
    padTokenId: padTokenIdOf(tokenizer, lm),
    features: new MemoryFeatures(blocks),
    train: sets.train,
    validation: sets.validation,
  });
  const memory: StepMetrics[] = [];
  try {
    await prepared.trainer.run({ onStep: (m) => void memory.push(m) });
  } finally {
    await prepared.session.release();
  }
  // One thread each: the sums run in one order, so the numbers are the same to the last bit.
  const view = (m: { loss: number; lr: number; gradNorm: number; samples: number }) => [
    m.loss,
    m.lr,
    m.gradNorm,
    m.samples,
  ];
  assert.deepEqual(memory.map(view), service.map(view));
  assert.equal(memory[0].lr, 0, 'the first warm-up step runs at rate 0');
});
