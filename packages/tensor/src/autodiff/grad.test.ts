// Structural properties of `grad`: what gets differentiated, accumulation, and errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostTensor, toNumbers } from '../dtype.js';
import * as op from '../index.js';
import { createSession, Graph, grad, VjpError } from '../index.js';
import { randomTensor } from './gradcheck.js';

test('frozen weights get no weight-gradient nodes; only the path from wrt to loss is differentiated', () => {
  const g = new Graph('frozen');
  const x = g.input('x', 'float32', ['n', 8]);
  const frozen = g.initializer('lm.weight', randomTensor('float32', [8, 8], 1));
  const proj = g.param('proj.weight', 'float32', [8, 8]);
  const h = op.linear(x, proj); // trainable first, like the projector
  const y = op.linear(h, frozen); // frozen LM after it
  const loss = op.reduceSum(op.mul(y, y), undefined, false);
  const before = g.nodes.length;
  const [dProj] = grad(g, loss, [proj]);
  const backward = g.nodes.slice(before);
  const matmuls = backward.filter((n) => n.op === 'MatMul');
  assert.equal(
    matmuls.length,
    2,
    'one for d h (through the frozen weight), one for d proj; none for d lm.weight',
  );
  assert.ok(
    backward.every((n) => n.name.startsWith('grad/')),
    'backward nodes live under the grad scope',
  );
  assert.deepEqual(dProj.shape, [8, 8]);
});

test('a value used twice accumulates both gradients', async () => {
  const g = new Graph('twice');
  const w = g.param('w', 'float32', [3]);
  const loss = op.reduceSum(op.add(op.mul(w, w), op.mul(w, 3)), undefined, false); // d/dw = 2w + 3
  g.output('dw', grad(g, loss, [w])[0]);
  const out = await (await createSession(g)).run({ w: hostTensor('float32', [3], [1, -2, 0.5]) });
  assert.deepEqual(Array.from(toNumbers(out.dw)), [5, -1, 4]);
});

test('stopGradient blocks the path; a wrt the loss ignores gets zeros', async () => {
  const g = new Graph('stop');
  const a = g.param('a', 'float32', [2]);
  const b = g.param('b', 'float32', [2]);
  const loss = op.reduceSum(op.mul(op.stopGradient(a), a), undefined, false); // d/da = a (one path)
  const [da, db] = grad(g, loss, [a, b]);
  g.output('da', da);
  g.output('db', db);
  const out = await (await createSession(g)).run({
    a: hostTensor('float32', [2], [3, -1]),
    b: hostTensor('float32', [2], [1, 1]),
  });
  assert.deepEqual(Array.from(toNumbers(out.da)), [3, -1]);
  assert.deepEqual(Array.from(toNumbers(out.db)), [0, 0]);
});

test('an op without a rule is named in the error with the ops that have one', () => {
  const g = new Graph('norule');
  const x = g.param('x', 'float32', [1, 1, 4, 4]);
  const k = g.initializer('k', randomTensor('float32', [1, 1, 3, 3], 2));
  const loss = op.reduceSum(op.conv(x, k), undefined, false);
  assert.throws(
    () => grad(g, loss, [x]),
    (e: Error) =>
      e instanceof VjpError &&
      /no gradient rule for Conv \(node Conv_0\); ops with rules: .*MatMul/.test(e.message),
  );
});

test('grad refuses integer values and foreign graphs', () => {
  const g = new Graph('a');
  const ids = g.input('ids', 'int32', [2]);
  const w = g.param('w', 'float32', [2]);
  const loss = op.reduceSum(w, undefined, false);
  assert.throws(() => grad(g, loss, [ids]), /not float/);
  const other = new Graph('b');
  assert.throws(() => grad(other, loss, [w]), /belongs to another graph/);
});
