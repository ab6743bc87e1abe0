// The engine-only projector stage is an in-memory run of the trainer's loop: its learning rate
// follows the trainer service's warm-up and cosine for the settings the pipeline sends, it learns,
// and an example the trainer could not encode stops the stage instead of disappearing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '@mmit/media';
import {
  initProjector,
  languageModelFromCheckpoint,
  loadTokenizer,
  openCheckpointFolder,
} from '@mmit/models';
import { lrMultiplier, type StepMetrics } from '@mmit/train';
import type { FeatureMatrix } from './features.js';
import { planTask } from './generate.js';
import { humanTurn, MEDIA_TOKEN, pretrainExamples } from './lm-corpus.js';
import { type StageExample, trainProjector } from './projector-stage.js';
import { IMAGE_ROWS } from './slots.js';
import { SHIPPED_LM_DIR } from './task-models.js';

const lm = languageModelFromCheckpoint(openCheckpointFolder(SHIPPED_LM_DIR));
const tokenizer = loadTokenizer(SHIPPED_LM_DIR);
const plan = planTask({ seed: 3, train: 12, test: 4 });
const pictures = plan.items.filter((item) => item.split === 'train' && item.kind === 'image');
const examples: StageExample[] = pretrainExamples(plan)
  .filter((e) => e.item.kind === 'image')
  .map((e) => ({ item: pictures.indexOf(e.item), prompt: humanTurn(e), answer: e.question.answer }));

/** Random features, one block per picture: enough to check the loop, not what the task needs. */
function randomFeatures(dim: number): FeatureMatrix {
  const random = createRng(11);
  const data = Float32Array.from({ length: pictures.length * IMAGE_ROWS * dim }, () => random() * 2 - 1);
  return { count: pictures.length, tokens: IMAGE_ROWS, dim, data };
}

test("the stage runs the trainer's loop: the service's warm-up and cosine, 16 samples a step, the loss falls", async () => {
  const steps = 40;
  const lr = 3e-3;
  const metrics: StepMetrics[] = [];
  const trained = await trainProjector({
    lm,
    tokenizer,
    mediaToken: MEDIA_TOKEN.image,
    features: randomFeatures(8),
    examples,
    steps,
    lr,
    seed: 5,
    onStep: (m) => void metrics.push(m),
  });
  assert.equal(trained.losses.length, steps);
  // The service's warm-up is ceil(3% of the steps) = 2 here (the stage's own loop rounded: 1).
  const schedule = {
    type: 'cosine' as const,
    warmupSteps: Math.ceil(0.03 * steps),
    totalSteps: steps,
    minLrRatio: 0,
  };
  assert.equal(schedule.warmupSteps, 2);
  metrics.forEach((m, i) => {
    const expected = lr * lrMultiplier(schedule, i + 1);
    assert.ok(Math.abs(m.lr - expected) < 1e-12, `step ${i + 1}: lr ${m.lr}, the service's ${expected}`);
  });
  assert.deepEqual(
    metrics.slice(0, 3).map((m) => m.lr),
    [0, lr / 2, lr],
  );
  // The trainer's epochs: every example once, in batches of 16 and one shorter one (in shuffled order).
  const perEpoch = Math.ceil(examples.length / 16);
  const epoch = metrics.slice(0, perEpoch).map((m) => m.samples);
  assert.deepEqual(
    epoch.sort((a, b) => b - a),
    [...new Array<number>(perEpoch - 1).fill(16), examples.length - 16 * (perEpoch - 1)],
  );
  assert.ok(metrics.every((m) => m.epoch === Math.floor((m.step - 1) / perEpoch)));
  const last = trained.losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
  assert.ok(last < 0.7 * trained.losses[0], `loss ${trained.losses[0]} -> ${last} (mean of the last 5)`);
  // The projector the stage returns is the trained one, not its initialisation.
  const initial = initProjector(trained.spec, 5);
  assert.deepEqual(Object.keys(trained.params).sort(), Object.keys(initial).sort());
  for (const [name, data] of Object.entries(trained.params)) {
    assert.equal(data.length, initial[name].length);
    assert.ok(
      data.some((v, i) => v !== initial[name][i]),
      `${name} is still its initial value`,
    );
  }
});

test('an example whose item has no features stops the stage with the reason', async () => {
  const broken = [...examples, { item: pictures.length, prompt: examples[0].prompt, answer: 'red' }];
  await assert.rejects(
    trainProjector({
      lm,
      tokenizer,
      mediaToken: MEDIA_TOKEN.image,
      features: randomFeatures(8),
      examples: broken,
      steps: 1,
      lr: 1e-3,
      seed: 1,
    }),
    /1 of \d+ projector examples cannot be trained on: \{"no cached features":1\}/,
  );
});
