import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdamW } from '@mmit/models';
import { clipGlobalNorm, GroupedAdamW } from './optimizer.js';
import { paramGroups } from './plan.js';
import { lrMultiplier } from './schedule.js';

const f64 = (xs: number[]) => Float64Array.from(xs);

test('one group equals @mmit/models AdamW (torch.optim.AdamW) step for step', () => {
  const settings = { betas: [0.9, 0.99] as [number, number], eps: 1e-6 };
  const mine = new GroupedAdamW(
    { w: [1, -2, 3] },
    [{ name: 'all', params: ['w'], lr: 0.01, weightDecay: 0.1 }],
    settings,
  );
  const reference = new AdamW(
    { w: [1, -2, 3] },
    { lr: 0.01, betas: settings.betas, eps: 1e-6, weight_decay: 0.1 },
  );
  for (const g of [
    [0.5, -1, 2],
    [-0.1, 0.3, 0.2],
    [1, 1, -1],
  ]) {
    mine.step({ w: f64(g) });
    reference.step({ w: g });
  }
  assert.deepEqual(mine.state().params.w, reference.params.get('w'));
});

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

test('state() and load() continue exactly', () => {
  const make = () =>
    new GroupedAdamW({ w: [0.3, 0.7] }, [{ name: 'g', params: ['w'], lr: 0.1, weightDecay: 0.01 }], {
      betas: [0.9, 0.999],
      eps: 1e-8,
    });
  const a = make();
  a.step({ w: f64([1, 2]) });
  const b = make();
  b.load(a.state());
  a.step({ w: f64([-1, 0.5]) });
  b.step({ w: f64([-1, 0.5]) });
  assert.deepEqual(a.state(), b.state());
  assert.throws(() => make().load({ ...a.state(), expAvg: {} }), /no expAvg of length 2 for w/);
});

test('clipping scales to the max norm with torch coefficient; returns the norm before', () => {
  const grads = { a: f64([3]), b: f64([4]) };
  assert.equal(clipGlobalNorm(grads, 1), 5);
  assert.ok(Math.abs(grads.a[0] - (3 * 1) / (5 + 1e-6)) < 1e-15);
  const small = { a: f64([0.3]) };
  clipGlobalNorm(small, 1);
  assert.equal(small.a[0], 0.3);
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
