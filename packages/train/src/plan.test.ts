import assert from 'node:assert/strict';
import { test } from 'node:test';
import { paramGroups } from './plan.js';
import { lrMultiplier } from './schedule.js';

test('groups: biases skip decay, LoRA has its own lr', () => {
  const groups = paramGroups(
    ['projector.linear_1.weight', 'projector.linear_1.bias', 'lora.layers.0.attn.q.A'],
    {
      lr: 1e-3,
      loraLr: 2e-4,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0.1,
      decayBiases: false,
    },
  );
  assert.deepEqual(
    groups.map((g) => [g.name, g.params, g.lr, g.weightDecay]),
    [
      ['projector', ['projector.linear_1.weight'], 1e-3, 0.1],
      ['projector.no_decay', ['projector.linear_1.bias'], 1e-3, 0],
      ['lora', ['lora.layers.0.attn.q.A'], 2e-4, 0.1],
    ],
  );
});

test('schedule: linear warm-up from 0, cosine to the floor, constant stays', () => {
  const cosine = { type: 'cosine' as const, warmupSteps: 2, totalSteps: 10, minLrRatio: 0 };
  assert.deepEqual(
    [1, 2, 3].map((s) => lrMultiplier(cosine, s)),
    [0, 0.5, 1],
  );
  assert.ok(Math.abs(lrMultiplier(cosine, 7) - 0.5) < 1e-12); // halfway through the decay
  assert.ok(lrMultiplier(cosine, 11) < 1e-12);
  assert.equal(lrMultiplier({ ...cosine, type: 'constant' }, 9), 1);
});
