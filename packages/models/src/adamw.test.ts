import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdamW, clipGlobalNorm, GroupedAdamW } from './adamw.js';

test('first step: decay, then a step of lr * g / (|g| + eps) (bias-corrected moments)', () => {
  const opt = new AdamW({ w: [1, -2] }, { lr: 0.1, weight_decay: 0.01 });
  opt.step({ w: [0.5, -4] });
  const [a, b] = opt.params.get('w')!;
  assert.ok(Math.abs(a - (1 * (1 - 0.001) - (0.1 * 0.5) / (0.5 + 1e-8))) < 1e-12);
  assert.ok(Math.abs(b - (-2 * (1 - 0.001) + (0.1 * 4) / (4 + 1e-8))) < 1e-12);
});

test('second step follows torch.optim.AdamW step by step', () => {
  const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.99, 1e-6, 0.1];
  const opt = new AdamW({ w: [3] }, { lr, betas: [b1, b2], eps, weight_decay: wd });
  const grads = [2, -1];
  let p = 3;
  let m = 0;
  let v = 0;
  grads.forEach((g, k) => {
    const t = k + 1;
    p *= 1 - lr * wd;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    p -= ((lr / (1 - b1 ** t)) * m) / (Math.sqrt(v) / Math.sqrt(1 - b2 ** t) + eps);
    opt.step({ w: [g] });
  });
  assert.ok(Math.abs(opt.params.get('w')![0] - p) < 1e-12);
  assert.equal(opt.steps, 2);
});

test('a missing gradient names the parameter', () => {
  const opt = new AdamW({ w: [1], b: [0] }, { lr: 1e-3 });
  assert.throws(() => opt.step({ w: [1] }), /gradient for b/);
});

const f64 = (xs: number[]) => Float64Array.from(xs);

test('AdamW is the one-group case: torch option names, and step scales its lr like any group', () => {
  const settings = { betas: [0.9, 0.99] as [number, number], eps: 1e-6 };
  const grouped = new GroupedAdamW(
    { w: [1, -2, 3] },
    [{ name: 'all', params: ['w'], lr: 0.02, weightDecay: 0.1 }],
    settings,
  );
  const single = new AdamW(
    { w: [1, -2, 3] },
    { lr: 0.02, betas: settings.betas, eps: 1e-6, weight_decay: 0.1 },
  );
  for (const g of [
    [0.5, -1, 2],
    [-0.1, 0.3, 0.2],
  ]) {
    grouped.step({ w: f64(g) }, 0.5);
    single.step({ w: g }, 0.5);
  }
  assert.deepEqual(grouped.state().params.w, single.params.get('w'));
});

test('state() and load() continue exactly; a mismatched state is refused by name', () => {
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
  assert.throws(
    () => new GroupedAdamW({ w: [1] }, [], { betas: [0.9, 0.999], eps: 1e-8 }),
    /w is in no group/,
  );
});

test('clipping scales to the max norm with torch coefficient; returns the norm before', () => {
  const grads = { a: f64([3]), b: f64([4]) };
  assert.equal(clipGlobalNorm(grads, 1), 5);
  assert.ok(Math.abs(grads.a[0] - (3 * 1) / (5 + 1e-6)) < 1e-15);
  const small = { a: f64([0.3]) };
  clipGlobalNorm(small, 1);
  assert.equal(small.a[0], 0.3);
});

test('float32Into rounds the current parameters into the same arrays each step', () => {
  const opt = new AdamW({ w: [0.1, -0.2, 1 / 3] }, { lr: 0.1 });
  const target = opt.float32Into({});
  const buffer = target.w;
  opt.step({ w: f64([1, -1, 0.25]) });
  opt.float32Into(target);
  assert.equal(target.w, buffer, 'the same array is refilled');
  assert.deepEqual(target.w, Float32Array.from(opt.params.get('w')!));
  assert.deepEqual(opt.float32().w, target.w);
  assert.notEqual(target.w[0], Math.fround(0.1), 'the step moved it');
});
