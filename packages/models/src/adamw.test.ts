import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdamW } from './adamw.js';

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
