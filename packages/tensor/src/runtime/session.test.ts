import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { randomTensor } from '../autodiff/gradcheck.js';
import { hostTensor, toNumbers } from '../dtype.js';
import * as op from '../index.js';
import { createSession, Graph, toFloat16 } from '../index.js';

function tinyGraph(): Graph {
  const g = new Graph('tiny');
  const x = g.input('x', 'float32', ['n', 4]);
  g.output('y', op.mul(op.exp(x), 2));
  return g;
}

describe('createSession', () => {
  test('reuses the session for the same graph and options, and rebuilds after the graph grows', async () => {
    const g = tinyGraph();
    const a = await createSession(g);
    assert.equal(await createSession(g), a);
    assert.notEqual(await createSession(g, { threads: 1 }), a);
    g.output('z', op.neg(g.inputs[0]));
    const grown = await createSession(g);
    assert.notEqual(grown, a);
    assert.deepEqual([...grown.outputNames].sort(), ['y', 'z']);
  });

  test('an unavailable GPU provider falls back to cpu and says why', async () => {
    const logged: string[] = [];
    const s = await createSession(tinyGraph(), { ep: 'cuda', log: (m) => logged.push(m) });
    assert.equal(s.requestedEp, 'cuda');
    // This machine has no CUDA install; where one exists the session really runs on it.
    if (s.ep === 'cpu') {
      assert.match(s.fallbackReason ?? '', /^cuda unavailable, using cpu: /);
      assert.equal(logged.length, 1);
    }
    const out = await s.run({ x: hostTensor('float32', [1, 4], [0, 0, 0, 0]) });
    assert.deepEqual(Array.from(toNumbers(out.y)), [2, 2, 2, 2]);
  });

  test('unknown providers and bad feeds get errors that list the valid options', async () => {
    await assert.rejects(
      createSession(tinyGraph(), { ep: 'tpu' as 'cpu' }),
      /unknown execution provider 'tpu'; valid: cpu, webgpu, cuda/,
    );
    const s = await createSession(tinyGraph());
    await assert.rejects(s.run({}), /missing feeds: x; the model takes x/);
    await assert.rejects(
      s.run({ x: hostTensor('float32', [1, 4]), extra: hostTensor('float32', [1]) }),
      /unknown feeds: extra/,
    );
    await assert.rejects(s.run({ x: hostTensor('float32', [1, 5]) }), /run failed/);
  });
});

describe('float16 pass', () => {
  test('computes in float16 behind a float32 interface, close to the float32 graph', async () => {
    const g = new Graph('mlp16');
    const x = g.input('x', 'float32', ['n', 8]);
    const w = g.initializer('w', randomTensor('float32', [16, 8], 1));
    const h = op.gelu(op.linear(x, w));
    const normed = g.float32(() =>
      op.rmsNorm(h, g.initializer('norm.w', randomTensor('float32', [16], 2)), 1e-6),
    );
    g.output('y', op.softmax(normed));
    const half = toFloat16(g);
    assert.equal(half.initializers.find((v) => v.name === 'w')!.dtype, 'float16');
    assert.equal(half.inputs[0].dtype, 'float32');
    const mul16 = half.nodes.filter((n) => n.op === 'MatMul')[0];
    assert.equal(mul16.outputs[0].dtype, 'float16');
    const rms = half.nodes.filter((n) => n.op === 'ReduceMean')[0];
    assert.equal(rms.outputs[0].dtype, 'float32', 'g.float32 region stays float32');
    const feeds = { x: randomTensor('float32', [3, 8], 3) };
    const full = await (await createSession(g)).run(feeds);
    const lowered = await (await createSession(g, { float16: true })).run(feeds);
    assert.equal(lowered.y.dtype, 'float32');
    const a = toNumbers(full.y);
    const b = toNumbers(lowered.y);
    const maxErr = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    assert.ok(maxErr < 2e-3, `fp16 max error ${maxErr}`);
    assert.ok(maxErr > 0, 'the fp16 graph really computed in lower precision');
  });
});
