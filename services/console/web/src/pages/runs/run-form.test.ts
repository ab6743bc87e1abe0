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

test('the other spec fields are sent when filled, into their place in the spec, and only then', () => {
  const built = toRunSpec({
    ...valid,
    lora: true,
    options: {
      seed: '7',
      imageToken: '<audio>',
      tokenizer: '/models/tok',
      visionFeatureLayer: '-2, -5',
      featureSelect: 'cls_patch',
      featureDtype: 'float16',
      loraTargets: 'q_proj, k_proj',
      loraLr: '2e-4',
      betas: '0.9, 0.95',
      maxGradNorm: 'off',
      decayBiases: 'true',
      scheduleType: 'constant',
      warmupSteps: '3',
      groupByLength: 'false',
      threads: '2',
      eps: '   ',
    },
  });
  assert.ok('spec' in built, JSON.stringify(built));
  const s = built.spec;
  assert.equal(s.seed, 7);
  assert.deepEqual(s.lm, { checkpoint: '/models/llama', imageToken: '<audio>', tokenizer: '/models/tok' });
  assert.deepEqual(s.encoder, {
    spec: { checkpoint: '/models/clip', visionFeatureLayer: [-2, -5], select: 'cls_patch', dtype: 'float16' },
  });
  assert.deepEqual(s.lora, { rank: 8, alpha: 16, targets: ['q_proj', 'k_proj'] });
  assert.deepEqual(s.optimizer, { lr: 0.002, loraLr: 0.0002, betas: [0.9, 0.95], decayBiases: true });
  assert.equal(s.maxGradNorm, null, 'off turns clipping off');
  assert.deepEqual(s.schedule, { type: 'constant', warmupSteps: 3 });
  assert.equal(s.groupByLength, false);
  assert.equal(s.threads, 2);
  assert.equal('eps' in (s.optimizer ?? {}), false, 'a blank field is left to the trainer');

  // Options of parts the form turned off are not sent.
  const plain = toRunSpec({ ...valid, lora: false, options: { loraTargets: 'q_proj', loraLr: '1' } });
  assert.ok('spec' in plain);
  assert.equal(plain.spec.lora, undefined);
  assert.deepEqual(plain.spec.optimizer, { lr: 0.002 }, 'optimizer.loraLr only with LoRA');
});

test('a bad optional field gets its message, like the main ones', () => {
  const built = toRunSpec({
    ...valid,
    lora: true,
    options: {
      seed: '-1',
      loraTargets: 'q_proj, qkv',
      betas: '0.9',
      maxGradNorm: 'x',
      visionFeatureLayer: '1.5',
    },
  });
  assert.ok('errors' in built);
  assert.deepEqual(built.errors, {
    seed: 'Seed must be at least 0',
    loraTargets:
      'LoRA target modules: qkv not one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj',
    maxGradNorm: 'Max gradient norm must be a number, or off',
    visionFeatureLayer: 'Vision feature layer(s) must be whole numbers, comma-separated',
    betas: 'AdamW betas: two numbers in [0, 1), e.g. 0.9, 0.999',
  });
});

test('issue paths of every spec field land on a form field', () => {
  assert.equal(fieldOfIssue('body.seed'), 'seed');
  assert.equal(fieldOfIssue('body.lm.imageToken'), 'imageToken');
  assert.equal(fieldOfIssue('body.optimizer.betas.1'), 'betas');
  assert.equal(fieldOfIssue('body.encoder.spec.visionFeatureLayer.0'), 'visionFeatureLayer');
  assert.equal(fieldOfIssue('body.lora'), 'loraRank');
});
