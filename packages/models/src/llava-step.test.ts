// The composed-log-softmax variant of the LLaVA step (for WebGPU, which lacks LogSoftmax) against
// the fused one on the tiny Llama fixture: same loss and projector gradients in both head modes,
// and no LogSoftmax node left in the graph; and the loss-scaled step (for float16) against the plain one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSession, toNumbers } from '@mmit/tensor';
import { openCheckpointFolder } from './checkpoint.js';
import { languageModelFromCheckpoint } from './language-model.js';
import { llavaLlamaCase, tinyLlamaDir } from './llava-case.testing.js';
import { buildLlavaStepGraph, llavaStepFeeds } from './llava-step.js';

const lm = languageModelFromCheckpoint(openCheckpointFolder(tinyLlamaDir));
const { batch, spec, projector } = llavaLlamaCase();

async function run(head: 'all' | 'labelled', composedLogSoftmax: boolean, lossScale?: number) {
  const step = buildLlavaStepGraph(lm, {
    projector: spec,
    imageTokenId: 3,
    head,
    composedLogSoftmax,
    lossScale,
  });
  const ops = new Set(step.graph.nodes.map((n) => n.op));
  const session = await createSession(step.graph);
  const out = await session.run(llavaStepFeeds(step, batch, projector));
  return { ops, out };
}

for (const head of ['labelled', 'all'] as const) {
  test(`head '${head}': the composed log-softmax gives the fused one's loss and gradients, without LogSoftmax`, async () => {
    const fused = await run(head, false);
    const composed = await run(head, true);
    assert.ok(fused.ops.has('LogSoftmax'));
    assert.ok(!composed.ops.has('LogSoftmax'));
    const loss = toNumbers(fused.out.loss)[0];
    assert.ok(Math.abs(toNumbers(composed.out.loss)[0] - loss) < 1e-5 * Math.abs(loss));
    for (const name of Object.keys(projector)) {
      const a = toNumbers(fused.out[`grad.${name}`]);
      const b = toNumbers(composed.out[`grad.${name}`]);
      const scale = Math.max(...a.map(Math.abs));
      assert.ok(scale > 0, `${name}: zero gradient`);
      assert.ok(
        a.every((v, i) => Math.abs(v - b[i]) < 1e-4 * scale),
        `${name}: composed gradient differs from the fused one`,
      );
    }
  });
}

test('a static loss scale leaves the loss and the (unscaled) gradients as they were', async () => {
  const plain = await run('labelled', true);
  const scaled = await run('labelled', true, 1024);
  assert.equal(toNumbers(scaled.out.loss)[0], toNumbers(plain.out.loss)[0]);
  for (const name of Object.keys(projector)) {
    const a = toNumbers(plain.out[`grad.${name}`]);
    const b = toNumbers(scaled.out[`grad.${name}`]);
    const scale = Math.max(...a.map(Math.abs));
    assert.ok(
      a.every((v, i) => Math.abs(v - b[i]) <= 1e-6 * scale),
      `${name}: scaled gradient differs from the plain one`,
    );
  }
});
