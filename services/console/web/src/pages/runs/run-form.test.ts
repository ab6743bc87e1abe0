import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RUN_FORM, fieldOfIssue, type RunForm, toRunSpec } from './run-form.js';

const valid: RunForm = {
  ...DEFAULT_RUN_FORM,
  datasetId: 'd_01JD5ZZZZZZZZZZZZZZZZZ',
  encoderCheckpoint: '/models/clip',
  lmCheckpoint: '/models/llama',
  lr: '2e-3',
  batchSize: '4',
  length: 'steps',
  lengthValue: '30',
  evalEvery: '5',
};

test('a valid form becomes the run spec the trainer takes', () => {
  const built = toRunSpec({ ...valid, name: ' first ', lora: true, loraRank: '4', loraAlpha: '8' });
  assert.ok('spec' in built);
  assert.deepEqual(built.spec, {
    name: 'first',
    datasetId: valid.datasetId,
    encoder: { spec: { checkpoint: '/models/clip' } },
    lm: { checkpoint: '/models/llama' },
    projector: { type: 'mlp2x_gelu' },
    optimizer: { lr: 0.002 },
    batchSize: 4,
    steps: 30,
    evalEvery: 5,
    checkpointEvery: 0,
    lora: { rank: 4, alpha: 8 },
    ep: 'cpu',
    template: 'plain',
  });
  const byKey = toRunSpec({
    ...valid,
    encoderSource: 'key',
    encoderKey: 'clip-abc',
    length: 'epochs',
    lengthValue: '2',
  });
  assert.ok('spec' in byKey);
  assert.deepEqual(byKey.spec.encoder, { key: 'clip-abc' });
  assert.equal(byKey.spec.epochs, 2);
  assert.equal(byKey.spec.steps, undefined);
});

test('each bad field gets its own message', () => {
  const built = toRunSpec({
    ...valid,
    datasetId: '',
    encoderCheckpoint: '',
    lr: '0',
    batchSize: '2.5',
    lengthValue: 'many',
  });
  assert.ok('errors' in built);
  assert.deepEqual(built.errors, {
    datasetId: 'Choose a dataset',
    lr: 'Learning rate must be a number > 0',
    batchSize: 'Batch size must be a whole number',
    lengthValue: 'Length must be a number',
    encoderCheckpoint: 'Give the encoder checkpoint (folder or repo id)',
  });
});

test("the trainer's issue paths map onto form fields", () => {
  assert.equal(fieldOfIssue('body.optimizer.lr'), 'lr');
  assert.equal(fieldOfIssue('body.encoder.key'), 'encoderKey');
  assert.equal(fieldOfIssue('body.encoder'), 'encoderCheckpoint');
  assert.equal(fieldOfIssue('body.steps'), 'lengthValue');
  assert.equal(fieldOfIssue('body.lora.rank'), 'loraRank');
  assert.equal(fieldOfIssue('body.somethingElse'), undefined);
});
