// Build-time checks and naming of the graph builder, and agreement with onnxruntime's own shape
// inference and kernels on the graphs it builds.
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hostTensor, toNumbers } from '../dtype.js';
import * as op from '../index.js';
import { createSession, Graph, GraphError, saveModel, serializeModel } from '../index.js';

const t32 = (dims: number[], values: number[]) => hostTensor('float32', dims, values);
const range = (n: number, scale = 1) => Array.from({ length: n }, (_, i) => i * scale);

describe('build-time shape and dtype checks', () => {
  test('matmul names the op, the scoped node and both shapes', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 16, 576]);
    const w = g.initializer('w', hostTensor('float32', [1536, 64]));
    assert.throws(
      () => g.scope('layers.3.mlp', () => op.matmul(x, w)),
      (e: Error) =>
        e instanceof GraphError &&
        e.message ===
          'MatMul(layers.3.mlp/MatMul_0): inner dims 576 vs 1536 (a [batch, 16, 576], b [1536, 64])',
    );
  });

  test('broadcast mismatch and dtype mismatch are refused', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [4, 3]);
    const c = g.input('c', 'float64', [2, 3]);
    assert.throws(() => op.add(a, b), /Add\(Add_0\): shapes do not broadcast: a \[2, 3\] vs b \[4, 3\]/);
    assert.throws(() => op.mul(a, c), /Mul\(Mul_0\): dtypes differ/);
    assert.throws(() => op.exp(g.input('i', 'int32', [2])), /must be one of float32/);
  });

  test('reshape checks element counts, infers -1 through symbols and copies 0', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 'seq', 576]);
    assert.deepEqual(op.reshape(x, [-1, 576]).shape, ['batch*seq', 576]);
    assert.deepEqual(op.reshape(x, [0, 0, 9, 64]).shape, ['batch', 'seq', 9, 64]);
    assert.deepEqual(op.reshape(x, ['batch', -1]).shape, ['batch', '576*seq']);
    const y = g.input('y', 'float32', [4, 6]);
    assert.throws(
      () => op.reshape(y, [5, 5]),
      /Reshape\(Reshape_3\): y float32\[4, 6\] has 24 elements, target \[5, 5\] has 25/,
    );
    assert.throws(() => op.reshape(x, [-1, 7]), /cannot infer -1/);
  });

  test('scopes give readable node names; outputs take their names', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    const y = g.scope('layers.0', () => g.scope('self_attn', () => op.exp(op.exp(x))));
    assert.equal(y.producer!.name, 'layers.0/self_attn/Exp_1');
    assert.equal(g.output('out', y).name, 'out');
    assert.equal(
      g.output('x_again', x).producer!.op,
      'Identity',
      'an input keeps its name; a copy is output',
    );
    assert.throws(() => g.output('out', y), /declared twice/);
    assert.throws(() => g.input('x', 'float32', [1]), /'x' is already used/);
  });

  test('concat adds symbolic dims; slice and squeeze check their dims', () => {
    const g = new Graph();
    const past = g.input('past', 'float32', ['batch', 'past', 64]);
    const now = g.input('now', 'float32', ['batch', 'seq', 64]);
    assert.deepEqual(op.concat([past, now], 1).shape, ['batch', 'past+seq', 64]);
    assert.throws(() => op.concat([past, g.input('o', 'float32', ['batch', 'seq', 32])], 1), /dim 2 differs/);
    assert.deepEqual(op.slice(now, 1, 0, -1).shape, ['batch', 'seq-1', 64]);
    assert.deepEqual(op.slice(now, 2, 8, 16).shape, ['batch', 'seq', 8]);
    assert.throws(() => op.squeeze(now, [1]), /dim 1 of now float32\[batch, seq, 64\] is seq, not 1/);
    assert.throws(() => op.softmax(now, 3), /axis 3 is out of range for rank 3 \(valid: -3..2\)/);
  });
});

describe('graphs run on onnxruntime', () => {
  test('a 2-layer MLP with symbolic batch matches a JS reference', async () => {
    const g = new Graph('mlp');
    const x = g.input('x', 'float32', ['batch', 3]);
    const w1 = g.initializer('fc1.weight', t32([4, 3], range(12, 0.1)));
    const b1 = g.initializer('fc1.bias', t32([4], [0.1, -0.2, 0.3, -0.4]));
    const w2 = g.param('fc2.weight', 'float32', [2, 4]);
    const h = g.scope('fc1', () => op.relu(op.linear(x, w1, b1)));
    g.output(
      'y',
      g.scope('fc2', () => op.linear(h, w2)),
    );
    const session = await createSession(g);
    const xs = [1, -1, 2, 0.5, 0, -3];
    const w2s = [1, 0, -1, 2, 0.5, 0.5, 0.5, 0.5];
    const out = await session.run({ x: t32([2, 3], xs), 'fc2.weight': t32([2, 4], w2s) });
    const expected: number[] = [];
    for (let n = 0; n < 2; n++) {
      const hid = [0, 1, 2, 3].map((o) => {
        let s = [0.1, -0.2, 0.3, -0.4][o];
        for (let i = 0; i < 3; i++) s += xs[n * 3 + i] * (o * 3 + i) * 0.1;
        return Math.max(s, 0);
      });
      for (let o = 0; o < 2; o++) expected.push(hid.reduce((acc, v, i) => acc + v * w2s[o * 4 + i], 0));
    }
    assert.deepEqual(out.y.dims, [2, 2]);
    for (const [i, v] of toNumbers(out.y).entries()) {
      assert.ok(Math.abs(v - expected[i]) < 1e-5, `y[${i}] = ${v}, want ${expected[i]}`);
    }
  });

  test('every op family loads and runs; ORT agrees with our inferred shapes', async () => {
    const g = new Graph('ops');
    const x = g.input('x', 'float32', ['b', 4, 6]);
    const ids = g.input('ids', 'int32', ['b', 3]);
    const table = g.initializer('table', t32([10, 6], range(60, 0.01)));
    const emb = op.gather(table, ids); // [b, 3, 6]
    const joined = op.concat([emb, x], 1); // [b, 7, 6]
    const normed = op.layerNorm(joined, g.initializer('ln.w', t32([6], range(6, 1))), undefined, 1e-5);
    const att = op.softmax(op.matmul(normed, op.swapAxes(normed, 1, 2))); // [b, 7, 7]
    const mask = op.less(
      op.unsqueeze(op.arange(g, 7, 'int32'), [0]),
      op.unsqueeze(op.arange(g, 7, 'int32'), [1]),
    );
    const masked = op.where(mask, -1e9, att);
    const [first, rest] = op.split(masked, 2, [3, 4]);
    const picked = op.gatherElements(
      first,
      op.expand(g.constant(hostTensor('int64', [1, 1, 1], [2])), ['b', 7, 1]),
      2,
    );
    const reduced = op.reduceMax(op.add(rest, picked), [-1]);
    const flat = op.flatten(op.mul(joined, reduced), 0, 2); // [b*7, 6]
    const conv = op.conv(
      op.unsqueeze(x, [1]),
      g.initializer('k', t32([2, 1, 3, 3], range(18, 0.05))),
      undefined,
      {
        pads: [1, 1, 1, 1],
      },
    );
    const outs = {
      flat,
      conv,
      cums: op.cumsum(op.cast(ids, 'float32'), 1),
      mean: op.reduceMean(op.silu(x), [1, 2], false),
      gelus: op.add(op.gelu(x), op.add(op.geluTanh(x), op.quickGelu(x))),
      rms: op.rmsNorm(x, g.initializer('rms.w', t32([6], range(6, 1))), 1e-6),
      maxed: op.maximum(op.minimum(x, 0.5), op.neg(op.sqrt(op.abs(x)))),
      shape: op.shapeOf(flat),
      sliced: op.slice(op.reshape(x, ['b', 2, 12]), 2, 1, 10, 3),
    };
    for (const [name, v] of Object.entries(outs)) g.output(name, v);
    const session = await createSession(g);
    const out = await session.run({
      x: t32(
        [2, 4, 6],
        range(48, 0.02).map((v) => v - 0.5),
      ),
      ids: hostTensor('int32', [2, 3], [0, 9, 3, 4, 4, 1]),
    });
    const concrete = (dims: (number | string)[]) =>
      dims.map((d) => (typeof d === 'number' ? d : d === 'b' ? 2 : d === '7*b' ? 14 : -1));
    for (const [name, v] of Object.entries(outs)) {
      if (name === 'shape') continue;
      assert.deepEqual(out[name].dims, concrete(v.shape), `${name}: inferred ${v.shape}`);
      assert.ok(toNumbers(out[name]).every(Number.isFinite), `${name} finite`);
    }
    assert.deepEqual(Array.from(toNumbers(out.shape)), [14, 6]);
    assert.deepEqual(Array.from(toNumbers(out.cums)).slice(0, 3), [0, 9, 12]);
  });

  test('onnxruntime rejects a node whose shapes we forced wrong (low-level addNode)', async () => {
    const g = new Graph('bad');
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [4, 5]);
    g.output('y', g.addNode('MatMul', [a, b], {}, [{ dtype: 'float32', shape: [2, 5] }])[0]);
    await assert.rejects(createSession(g), /onnxruntime rejected the model/);
  });

  test('external data: .onnx plus .onnx.data load by path', async () => {
    const g = new Graph('ext');
    const x = g.input('x', 'float32', [1, 512]);
    const w = g.initializer('w', t32([512, 512], range(512 * 512, 1e-6)));
    g.output('y', op.matmul(x, w));
    const dir = mkdtempSync(join(tmpdir(), 'mmit-ext-'));
    const [model, data] = saveModel(g, join(dir, 'ext.onnx'), { externalData: true });
    assert.ok(statSync(model).size < 4096, 'weights are not inline');
    assert.ok(statSync(data).size >= 512 * 512 * 4);
    const inline = await createSession(serializeModel(g), { cache: false });
    const external = await createSession(model, { cache: false });
    const feeds = { x: t32([1, 512], range(512, 1)) };
    const [a, b] = [await inline.run(feeds), await external.run(feeds)];
    assert.deepEqual(Array.from(toNumbers(a.y)), Array.from(toNumbers(b.y)));
  });
});
