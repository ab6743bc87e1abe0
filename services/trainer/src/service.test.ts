// The real trainer service over a real embedded S3 server: bad specs answer 400 with what is
// wrong; a run streams its steps over SSE and finishes; cancel and resume continue from the
// checkpoint; a restarted service resumes an interrupted run.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { keys, newId } from '@mmit/contracts';
import { TEST_ENCODER_KEY } from '@mmit/train/testing';
import { fixturesDir } from '../../../test/paths.js';
import { type Harness, readEvents, startHarness } from './testing/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => h?.close());

const spec = (extra: Record<string, unknown> = {}) => ({
  datasetId: h.datasetId,
  encoder: { key: TEST_ENCODER_KEY },
  lm: { checkpoint: join(fixturesDir, 'tiny-llama') },
  optimizer: { lr: 1e-2 },
  batchSize: 4,
  threads: 1,
  ...extra,
});

async function post(path: string, body?: unknown) {
  const res = await fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function get(path: string) {
  return (await (await fetch(`${h.url}${path}`)).json()) as Record<string, unknown>;
}

async function waitFor(id: string, statuses: string[], timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await get(`/v1/runs/${id}`);
    if (statuses.includes(state.status as string)) return state;
    if (Date.now() > deadline) throw new Error(`run ${id} still ${state.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const stepsOf = async (id: string) =>
  ((await get(`/v1/runs/${id}/metrics`)).items as { type: string; step: number; loss: number }[]).filter(
    (l) => l.type === 'step',
  );

test('bad specs: 400 problem+json naming the problem', async () => {
  const lr = await post('/v1/runs', spec({ optimizer: { lr: 0 } }));
  assert.equal(lr.status, 400);
  assert.equal(lr.body.code, 'validation');
  assert.equal((lr.body.errors as { path: string }[])[0].path, 'body.optimizer.lr');
  const missing = newId('dataset');
  const dataset = await post('/v1/runs', spec({ datasetId: missing }));
  assert.equal(dataset.status, 400);
  assert.match(dataset.body.detail as string, new RegExp(`dataset ${missing} does not exist`));
  const dims = await post(
    '/v1/runs',
    spec({
      projector: { inputDim: 32 },
      encoder: { spec: { checkpoint: join(fixturesDir, 'tiny-clip-vision') } },
    }),
  );
  assert.equal(dims.status, 400);
  assert.match(dims.body.detail as string, /projector.inputDim is 32 but the encoder's features are 64 wide/);
  assert.equal((await fetch(`${h.url}/v1/runs/${newId('run')}`)).status, 404);
});

test('specs whose run could only fail are refused at submission, naming the field', async () => {
  const fieldOf = (body: Record<string, unknown>) =>
    (body.errors as { path: string }[] | undefined)?.[0]?.path;
  const unknownKey = await post('/v1/runs', spec({ encoder: { key: `clip-${'0'.repeat(32)}` } }));
  assert.equal(unknownKey.status, 404);
  assert.equal(fieldOf(unknownKey.body), 'body.encoder.key');
  const clip = join(fixturesDir, 'tiny-clip-vision');
  const layer = await post(
    '/v1/runs',
    spec({ encoder: { spec: { checkpoint: clip, visionFeatureLayer: 99 } } }),
  );
  assert.equal(layer.status, 400);
  assert.equal(fieldOf(layer.body), 'body.encoder.spec.visionFeatureLayer');
  assert.match(layer.body.detail as string, /index 99 is out of range/);
  for (const checkpoint of ['/nonexistent/encoder', '/usr', '../../etc']) {
    const bad = await post('/v1/runs', spec({ encoder: { spec: { checkpoint } } }));
    assert.equal(bad.status, 400, checkpoint);
    assert.equal(fieldOf(bad.body), 'body.encoder.spec.checkpoint');
    // The same words whether the folder exists or not.
    assert.match(bad.body.detail as string, /is neither a checkpoint folder .* nor a Hugging Face repo id/);
  }
  assert.equal(
    (await post('/v1/runs', spec({ datasetId: newId('dataset') }))).body.errors !== undefined,
    true,
  );
});

test('a run streams state, step and eval events over SSE, then succeeds; listed, metrics and checkpoint stored', async () => {
  const created = await post('/v1/runs', spec({ epochs: 2, evalEvery: 3, name: 'sse' }));
  assert.equal(created.status, 202);
  const id = created.body.id as string;
  const events = await readEvents(
    `${h.url}/v1/runs/${id}/events`,
    (m) => m.event === 'state' && m.data.status === 'succeeded',
  );
  const steps = events.filter((e) => e.event === 'step').map((e) => e.data);
  assert.deepEqual(
    steps.map((s) => s.step),
    [1, 2, 3, 4, 5, 6],
  );
  for (const key of ['loss', 'lr', 'gradNorm', 'tokensPerSec', 'samplesPerSec', 'etaSec']) {
    assert.equal(typeof steps[0][key], 'number', key);
  }
  assert.equal(steps[5].etaSec, 0);
  assert.deepEqual(
    events.filter((e) => e.event === 'eval').map((e) => e.data.step),
    [0, 3, 6],
  );
  const state = await get(`/v1/runs/${id}`);
  assert.equal(state.status, 'succeeded');
  assert.deepEqual(state.lastCheckpoint, { step: 6, prefix: keys.runCheckpoint(id, 6) });
  assert.ok(await h.bucket.exists(`${keys.runCheckpoint(id, 6)}weights.safetensors`));
  const list = (await get('/v1/runs')).items as { id: string }[];
  assert.ok(list.some((r) => r.id === id));
  assert.equal((await stepsOf(id)).length, 6);
});

test('cancel stops a running run; resume continues from its last checkpoint to the end', async () => {
  const { body } = await post('/v1/runs', spec({ steps: 120, checkpointEvery: 5 }));
  const id = body.id as string;
  await readEvents(
    `${h.url}/v1/runs/${id}/events`,
    (m) => m.event === 'step' && (m.data.step as number) >= 7,
  );
  // Resume the moment the run's state says cancelled: the job's own end may not be stored yet,
  // and resume must wait for it rather than refuse (the console's Resume button does exactly this).
  const ended = readEvents(
    `${h.url}/v1/runs/${id}/events`,
    (m) => m.event === 'state' && m.data.status === 'cancelled',
  );
  const cancelled = await post(`/v1/runs/${id}/cancel`);
  assert.equal(cancelled.status, 202);
  const stopped = (await ended).at(-1)?.data as Record<string, unknown>;
  const checkpoint = (stopped.lastCheckpoint as { step: number }).step;
  assert.ok(checkpoint >= 5 && checkpoint < 120);
  const resumed = await post(`/v1/runs/${id}/resume`);
  assert.equal(resumed.status, 202);
  assert.equal(resumed.body.attempt, 2);
  assert.equal((await post(`/v1/runs/${id}/resume`)).status, 409);
  const done = await waitFor(id, ['succeeded', 'failed'], 120_000);
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  assert.deepEqual(
    (await stepsOf(id)).map((s) => s.step),
    Array.from({ length: 120 }, (_, i) => i + 1),
  );
});

test('a run interrupted by a service restart resumes from its checkpoint in the new process', async () => {
  const { body } = await post('/v1/runs', spec({ steps: 120, checkpointEvery: 5 }));
  const id = body.id as string;
  await readEvents(
    `${h.url}/v1/runs/${id}/events`,
    (m) => m.event === 'state' && (m.data.lastCheckpoint as { step: number } | null)?.step === 5,
  );
  await h.restart();
  const done = await waitFor(id, ['succeeded', 'failed'], 120_000);
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  assert.equal(done.attempt, 2);
  assert.deepEqual(
    (await stepsOf(id)).map((s) => s.step),
    Array.from({ length: 120 }, (_, i) => i + 1),
  );
});
