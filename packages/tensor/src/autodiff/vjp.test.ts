// One finite-difference check per VJP rule (float64 where onnxruntime's CPU kernels allow it), plus
// the composites built from them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type HostTensor, hostTensor } from '../dtype.js';
import type { Dim } from '../graph/dims.js';
import type { Graph, Value } from '../graph/graph.js';
import * as op from '../index.js';
import { gradCheck, randomTensor } from './gradcheck.js';
import { VJP } from './vjp.js';

const f64 = (dims: number[], seed: number, lo = -1, hi = 1) => randomTensor('float64', dims, seed, lo, hi);
const f32 = (dims: number[], seed: number, lo = -1, hi = 1) => randomTensor('float32', dims, seed, lo, hi);

/** Every op whose rule some check below ran through (a check's own loss adds Mul and ReduceSum). */
const rulesChecked = new Set<string>();

async function check(
  build: (g: Graph, v: Record<string, Value>) => Value,
  feeds: Record<string, HostTensor>,
  options: { tol?: number; wrt?: string[]; dims?: Record<string, Dim[]>; eps?: number } = {},
): Promise<void> {
  const results = await gradCheck(build, feeds, options);
  for (const r of results) {
    for (const rule of r.rules) rulesChecked.add(rule);
    assert.ok(
      r.numeric.some((v) => v !== 0),
      `${r.name}: numeric gradient is all zeros, the check proves nothing`,
    );
    assert.ok(
      r.relError < (options.tol ?? 1e-6),
      `${r.name}: relative error ${r.relError.toExponential(2)} (max abs ${r.maxAbsError.toExponential(2)})`,
    );
  }
}

describe('elementwise VJPs (float64)', () => {
  const binary: [string, (a: Value, b: Value) => Value][] = [
    ['Add', op.add],
    ['Sub', op.sub],
    ['Mul', op.mul],
    ['Div', op.div],
  ];
  for (const [name, fn] of binary) {
    test(`${name} with broadcasting on both sides`, () =>
      check((_, v) => fn(v.a, v.b), { a: f64([2, 1, 4], 1), b: f64([3, 1], 2, 0.5, 1.5) }));
  }
  const unary: [string, (x: Value) => Value, number, number][] = [
    ['Neg', op.neg, -1, 1],
    ['Abs', op.abs, 0.1, 1],
    ['Exp', op.exp, -1, 1],
    ['Log', op.log, 0.5, 2],
    ['Sqrt', op.sqrt, 0.5, 2],
    ['Reciprocal', op.reciprocal, 0.5, 2],
    ['Tanh', op.tanh, -1, 1],
    ['Sigmoid', op.sigmoid, -2, 2],
    ['Relu', op.relu, 0.1, 1],
    ['Sin', op.sin, -2, 2],
    ['Cos', op.cos, -2, 2],
    ['Identity', op.identity, -1, 1],
  ];
  for (const [name, fn, lo, hi] of unary) {
    test(name, () => check((_, v) => fn(v.x), { x: f64([3, 4], 3, lo, hi) }));
  }
  test('Relu on both sides of zero', () =>
    check((_, v) => op.relu(v.x), { x: hostTensor('float64', [4], [-1, -0.3, 0.2, 2]) }));
  test('Pow with constant exponents 2 and 3.5', () =>
    check((_, v) => op.add(op.pow(v.x, 2), op.pow(v.x, 3.5)), { x: f64([5], 4, 0.5, 1.5) }));
  test('Erf (float32: no float64 kernel)', () =>
    check((_, v) => op.erf(v.x), { x: f32([6], 5) }, { tol: 2e-3, eps: 1e-2 }));
  test('Where through both branches', () =>
    check(
      (_, v) => op.where(op.greater(v.c, 0), v.a, v.b),
      {
        c: f64([2, 3], 6),
        a: f64([2, 3], 7),
        b: f64([3], 8),
      },
      { wrt: ['a', 'b'] },
    ));
  test('Cast float64 -> float32 -> float64', () =>
    check(
      (_, v) => op.cast(op.mul(op.cast(v.x, 'float32'), 2), 'float64'),
      { x: f64([4], 9) },
      { tol: 1e-4, eps: 1e-3 },
    ));
  test('maximum/minimum (Where-based)', () =>
    check((_, v) => op.add(op.maximum(v.a, v.b), op.minimum(v.a, 0.1)), {
      a: f64([6], 10),
      b: f64([6], 11),
    }));
});

describe('linear algebra and fused VJPs (float64)', () => {
  test('MatMul 2-D', () => check((_, v) => op.matmul(v.a, v.b), { a: f64([3, 4], 1), b: f64([4, 5], 2) }));
  test('MatMul batched with a broadcast batch dim', () =>
    check((_, v) => op.matmul(v.a, v.b), { a: f64([2, 3, 4], 1), b: f64([1, 4, 2], 2) }));
  test('MatMul activations [B, T, K] @ weight [K, N] (one-GEMM weight gradient)', () =>
    check((_, v) => op.matmul(v.a, v.b), { a: f64([2, 3, 4], 3), b: f64([4, 5], 4) }));
  test('linear with HF weight layout and bias', () =>
    check((_, v) => op.linear(v.x, v.w, v.b), { x: f64([2, 3, 4], 5), w: f64([5, 4], 6), b: f64([5], 7) }));
  test('Softmax', () => check((_, v) => op.softmax(v.x, 1), { x: f64([2, 5, 3], 8) }));
  test('LogSoftmax', () => check((_, v) => op.logSoftmax(v.x), { x: f64([3, 6], 9) }));
  test('logSoftmaxComposed (ReduceMax held constant)', () =>
    check((_, v) => op.logSoftmaxComposed(v.x), { x: f64([3, 6], 10) }));
  test('LayerNormalization: x, scale, bias', () =>
    check((_, v) => op.layerNormalization(v.x, v.w, v.b, 1e-5), {
      x: f64([2, 3, 6], 11),
      w: f64([6], 12),
      b: f64([6], 13),
    }));
  test('CumSum, forward and reverse', () =>
    check((_, v) => op.add(op.cumsum(v.x, 1), op.cumsum(v.x, 1, { reverse: true, exclusive: true })), {
      x: f64([2, 5], 14),
    }));
});

describe('reduction VJPs (float64)', () => {
  test('ReduceSum keepdims and not', () =>
    check(
      (_, v) => op.add(op.reduceSum(v.x, [0, 2], false), op.reduceSum(op.reduceSum(v.x, [1]), [0, 2], false)),
      {
        x: f64([2, 3, 4], 1),
      },
    ));
  test('ReduceSum over all axes', () =>
    check((_, v) => op.reduceSum(v.x, undefined, false), { x: f64([2, 3], 2) }));
  test('ReduceMean', () => check((_, v) => op.reduceMean(v.x, [-1]), { x: f64([3, 4], 3) }));
  test('ReduceMean over a symbolic dim', () =>
    check((_, v) => op.reduceMean(v.x, [0]), { x: f64([3, 4], 4) }, { dims: { x: ['n', 4] } }));
  test('ReduceMax', () => check((_, v) => op.reduceMax(v.x, [1], false), { x: f64([3, 5], 5) }));
});

describe('shape and indexing VJPs (float64)', () => {
  test('Reshape, Transpose, Unsqueeze, Squeeze', () =>
    check((_, v) => op.squeeze(op.unsqueeze(op.transpose(op.reshape(v.x, [3, 2, 4]), [2, 0, 1]), [0]), [0]), {
      x: f64([6, 4], 1),
    }));
  test('Reshape with symbolic dims', () =>
    check((_, v) => op.reshape(v.x, ['n', 2, 2]), { x: f64([3, 4], 2) }, { dims: { x: ['n', 4] } }));
  test('Expand', () => check((_, v) => op.expand(v.x, [2, 3, 4]), { x: f64([3, 1], 3) }));
  test('Concat (static)', () =>
    check((_, v) => op.concat([v.a, v.b, v.a], 1), { a: f64([2, 2], 4), b: f64([2, 3], 5) }));
  test('Concat on a symbolic axis', () =>
    check(
      (_, v) => op.concat([v.a, v.b], 0),
      { a: f64([2, 3], 6), b: f64([4, 3], 7) },
      { dims: { a: ['p', 3], b: ['s', 3] } },
    ));
  test('Split, one output unused', () => {
    return check(
      (_, v) => {
        const [a, , c] = op.split(v.x, 1, [1, 2, 3]);
        return op.concat([c, a], 1);
      },
      { x: f64([2, 6], 8) },
    );
  });
  test('Slice with negative bounds', () => check((_, v) => op.slice(v.x, -1, 1, -1), { x: f64([3, 5], 9) }));
  test('Slice with a step', () => check((_, v) => op.slice(v.x, 0, 0, 5, 2), { x: f64([5, 2], 10) }));
  test('Slice on a symbolic dim', () =>
    check((_, v) => op.slice(v.x, 0, 1), { x: f64([4, 2], 11) }, { dims: { x: ['seq', 2] } }));
  test('Gather (embedding rows, repeated ids, int32)', () =>
    check((_, v) => op.gather(v.table, v.ids), {
      table: f64([5, 3], 12),
      ids: hostTensor('int32', [2, 3], [0, 4, 4, 1, 0, 2]),
    }));
  test('GatherElements', () =>
    check((_, v) => op.gatherElements(v.x, v.idx, 1), {
      x: f64([2, 4], 13),
      idx: hostTensor('int64', [2, 2], [3, 3, 0, 1]),
    }));
  test('ScatterND into data and from updates', () =>
    check((_, v) => op.scatterND(v.data, v.idx, v.upd), {
      data: f64([4, 3], 14),
      idx: hostTensor('int64', [2, 1], [2, 0]),
      upd: f64([2, 3], 15),
    }));
  test('ScatterND with reduction add', () =>
    check((_, v) => op.scatterND(v.data, v.idx, v.upd, 'add'), {
      data: f64([4, 3], 16),
      idx: hostTensor('int64', [3, 1], [2, 0, 2]),
      upd: f64([3, 3], 17),
    }));
  test('ScatterElements', () =>
    check((_, v) => op.scatterElements(v.data, v.idx, v.upd, 1), {
      data: f64([2, 4], 18),
      idx: hostTensor('int64', [2, 2], [3, 0, 1, 2]),
      upd: f64([2, 2], 19),
    }));
});

describe('composite VJPs', () => {
  test('gelu (exact, float32)', () =>
    check((_, v) => op.gelu(v.x), { x: f32([8], 1, -2, 2) }, { tol: 2e-3, eps: 1e-2 }));
  test('geluTanh', () => check((_, v) => op.geluTanh(v.x), { x: f64([8], 2, -2, 2) }));
  test('quickGelu', () => check((_, v) => op.quickGelu(v.x), { x: f64([8], 3, -2, 2) }));
  test('silu', () => check((_, v) => op.silu(v.x), { x: f64([8], 4, -2, 2) }));
  test('rmsNorm: x and weight', () =>
    check((_, v) => op.rmsNorm(v.x, v.w, 1e-6), { x: f64([2, 3, 5], 5), w: f64([5], 6) }));
  test('crossEntropy with ignored labels', () =>
    check((_, v) => op.crossEntropy(v.logits, v.labels), {
      logits: f64([2, 3, 5], 7),
      labels: hostTensor('int32', [2, 3], [1, -100, 4, 0, 2, -100]),
    }));
  test('crossEntropy composed (WebGPU form)', () =>
    check((_, v) => op.crossEntropy(v.logits, v.labels, { composed: true }), {
      logits: f64([4, 5], 8),
      labels: hostTensor('int64', [4], [1, -100, 4, 0]),
    }));
});

// Last, so every check above has run: a rule added to VJP without a finite-difference case fails
// here by name. (The check's own loss is Mul then ReduceSum, so those two need cases that use them
// for more than the loss; both have them above.)
test('every VJP rule has a gradient-check case', () => {
  const unchecked = Object.keys(VJP).filter((op) => !rulesChecked.has(op));
  assert.deepEqual(unchecked, [], `VJP rules without a gradient-check case: ${unchecked.join(', ')}`);
});
