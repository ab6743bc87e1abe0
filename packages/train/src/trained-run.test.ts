// The one reader of a trained run, over a real embedded S3 server: the latest complete checkpoint
// (a half-written later one is not it), projector and LoRA split by name, the encoder spec whole
// (precision included), a tokenizer folder that is not a checkpoint, and errors that say what is
// missing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { keys, newId, RunSpecSchema } from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { fixture, fixturesDir } from '../../../test/paths.js';
import { checkpointKey, saveCheckpoint } from './checkpoint.js';
import { readTrainedRun, TrainedRunError } from './trained-run.js';

let store: TestStore;
let bucket: Bucket;

before(async () => {
  store = await startTestStore({ name: 'trained-run' });
  bucket = store.bucket;
});

after(() => store?.stop());

const trained = {
  'projector.linear_1.weight': { dims: [64, 32], fill: 0.5 },
  'projector.linear_1.bias': { dims: [64], fill: 0 },
  'projector.linear_2.weight': { dims: [64, 64], fill: 0.25 },
  'projector.linear_2.bias': { dims: [64], fill: 0 },
  'lora.layers.0.attn.q.A': { dims: [2, 64], fill: 1 },
  'lora.layers.0.attn.q.B': { dims: [64, 2], fill: 0 },
};

async function writeRun(tokenizer: string): Promise<string> {
  const id = newId('run');
  const spec = RunSpecSchema.parse({
    datasetId: newId('dataset'),
    encoder: { spec: { checkpoint: fixture('tiny-clip-vision'), compute: 'float16', dtype: 'float16' } },
    lm: { checkpoint: fixture('tiny-llama'), tokenizer },
    lora: { rank: 2, alpha: 4, targets: ['q_proj'] },
    steps: 4,
  });
  await bucket.putJson(keys.runSpec(id), spec, RunSpecSchema);
  const params = Object.fromEntries(
    Object.entries(trained).map(([n, t]) => [
      n,
      new Float64Array(t.dims.reduce((a, b) => a * b, 1)).fill(t.fill),
    ]),
  );
  const zeros = Object.fromEntries(Object.entries(params).map(([n, p]) => [n, new Float64Array(p.length)]));
  const dims = Object.fromEntries(Object.entries(trained).map(([n, t]) => [n, t.dims]));
  for (const step of [2, 4]) {
    await saveCheckpoint(
      bucket,
      id,
      {
        loop: {
          step,
          data: { epoch: 0, batchInEpoch: step, epochRandomState: 0 },
          samplesSeen: 0,
          tokensSeen: 0,
        },
        optimizer: { step, params, expAvg: zeros, expAvgSq: zeros },
      },
      dims,
    );
  }
  // Step 6 was being written when the trainer stopped: weights, no trainer_state.json.
  await bucket.putBuffer(
    checkpointKey(id, 6, 'weights'),
    await bucket.getBuffer(checkpointKey(id, 4, 'weights')),
  );
  return id;
}

test('reads the latest complete checkpoint with everything serving and export need', async () => {
  const tokenizer = join(fixturesDir, 'tokenizer'); // tokenizer.json, no config.json
  const id = await writeRun(tokenizer);
  const run = await readTrainedRun(bucket, id);
  assert.equal(run.step, 4);
  assert.equal(run.state, null);
  assert.equal(run.lmDir, fixture('tiny-llama'));
  assert.equal(run.tokenizerDir, tokenizer);
  assert.deepEqual(
    [run.encoder.family.kind, run.encoder.family.modality, run.encoder.spec.compute, run.encoder.spec.dtype],
    ['clip', 'image', 'float16', 'float16'],
  );
  assert.equal(run.encoder.processorDir, fixture('tiny-clip-vision'));
  assert.deepEqual(run.projector.spec, { type: 'mlp2x_gelu', inputDim: 32, outputDim: 64 });
  assert.deepEqual(
    Object.keys(run.projector.weights).sort(),
    Object.keys(trained)
      .filter((n) => n.startsWith('projector.'))
      .sort(),
  );
  assert.deepEqual(
    {
      rank: run.lora?.rank,
      alpha: run.lora?.alpha,
      targets: run.lora?.targets,
      weights: Object.keys(run.lora?.weights ?? {}).sort(),
    },
    { rank: 2, alpha: 4, targets: ['q_proj'], weights: ['lora.layers.0.attn.q.A', 'lora.layers.0.attn.q.B'] },
  );
  assert.equal((await readTrainedRun(bucket, id, { step: 2 })).step, 2);
});

test('says what is missing: a step, a tokenizer folder without tokenizer.json, a run', async () => {
  const id = await writeRun(join(fixturesDir, 'tokenizer'));
  await assert.rejects(
    readTrainedRun(bucket, id, { step: 6 }),
    (err: unknown) =>
      err instanceof TrainedRunError && err.problem === 'not_found' && /it has: 2, 4/.test(err.message),
  );
  const noTokenizer = await writeRun(fixture('tiny-clip-vision'));
  await assert.rejects(
    readTrainedRun(bucket, noTokenizer),
    (err: unknown) =>
      err instanceof TrainedRunError && /lm\.tokenizer .* without tokenizer\.json/.test(err.message),
  );
  await assert.rejects(
    readTrainedRun(bucket, newId('run')),
    (err: unknown) => err instanceof TrainedRunError && err.problem === 'not_found',
  );
});
