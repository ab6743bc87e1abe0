import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { mulberry32 } from '@mmit/random';
import { createSession, readSafetensors, toNumbers, writeSafetensors } from '@mmit/tensor';
import { openCheckpointFolder } from './checkpoint.js';
import { languageModelFromCheckpoint } from './language-model.js';
import { llavaLlamaCase, tinyLlamaDir } from './llava-case.testing.js';
import { buildLlavaStepGraph, llavaStepFeeds } from './llava-step.js';
import { initLora, type LoraOptions } from './lora.js';

const lmDir = tinyLlamaDir;
const { reference, batch, spec, projector } = llavaLlamaCase();
const lora: LoraOptions = { targets: ['q_proj', 'v_proj', 'down_proj'], rank: 4, alpha: 8 };

/** Random non-zero adapters (B = 0 would hide bugs in the B A product). */
function randomAdapters(seed: number): Record<string, Float32Array> {
  const lm = languageModelFromCheckpoint(openCheckpointFolder(lmDir));
  const random = mulberry32(seed);
  const adapters = initLora(lm, lora, seed);
  for (const values of Object.values(adapters))
    for (let i = 0; i < values.length; i++) values[i] = (random() - 0.5) * 0.2;
  return adapters;
}

async function stepOutputs(dir: string, withLora: boolean, adapters: Record<string, Float32Array> = {}) {
  const lm = languageModelFromCheckpoint(openCheckpointFolder(dir));
  const step = buildLlavaStepGraph(lm, {
    projector: spec,
    imageTokenId: 3,
    head: 'labelled',
    lora: withLora ? lora : undefined,
  });
  const session = await createSession(step.graph);
  const out = await session.run(llavaStepFeeds(step, batch, { ...projector, ...adapters }));
  return { out, params: step.params, loss: toNumbers(out.loss)[0] };
}

test('untrained LoRA (B = 0) leaves loss and projector gradients unchanged; grads exist only for A/B and projector', async () => {
  const lm = languageModelFromCheckpoint(openCheckpointFolder(lmDir));
  const plain = await stepOutputs(lmDir, false);
  const adapted = await stepOutputs(lmDir, true, initLora(lm, lora, 1));
  assert.ok(Math.abs(plain.loss - adapted.loss) < 1e-6 * plain.loss);
  assert.equal(adapted.params.filter((p) => p.startsWith('lora.')).length, 2 * 3 * lm.config.numLayers);
  assert.ok(adapted.params.every((p) => p.startsWith('lora.') || p.startsWith('projector.')));
  const g1 = toNumbers(plain.out['grad.projector.linear_1.weight']);
  const g2 = toNumbers(adapted.out['grad.projector.linear_1.weight']);
  assert.ok(g1.every((v, i) => Math.abs(v - g2[i]) < 1e-6));
});

test('LoRA forward equals the merged weights W + (alpha/r) B A', async () => {
  const adapters = randomAdapters(7);
  const dir = mkdtempSync(join(tmpdir(), 'mmit-lora-'));
  try {
    const { tensors } = readSafetensors(join(lmDir, 'model.safetensors'));
    const scale = lora.alpha / lora.rank;
    for (const [hfModule, ours] of [
      ['self_attn.q_proj', 'attn.q'],
      ['self_attn.v_proj', 'attn.v'],
      ['mlp.down_proj', 'mlp.down'],
    ]) {
      for (let layer = 0; layer < 2; layer++) {
        const w = tensors[`model.layers.${layer}.${hfModule}.weight`];
        const [out, inp] = w.dims;
        const a = adapters[`lora.layers.${layer}.${ours}.A`];
        const b = adapters[`lora.layers.${layer}.${ours}.B`];
        const merged = Float32Array.from(toNumbers(w));
        for (let o = 0; o < out; o++)
          for (let i = 0; i < inp; i++) {
            let s = 0;
            for (let r = 0; r < lora.rank; r++) s += b[o * lora.rank + r] * a[r * inp + i];
            merged[o * inp + i] += scale * s;
          }
        tensors[`model.layers.${layer}.${hfModule}.weight`] = {
          dtype: 'float32',
          dims: [out, inp],
          data: merged,
        };
      }
    }
    writeSafetensors(join(dir, 'model.safetensors'), tensors);
    copyFileSync(join(lmDir, 'config.json'), join(dir, 'config.json'));
    const viaLora = await stepOutputs(lmDir, true, adapters);
    const viaMerge = await stepOutputs(dir, false);
    assert.ok(
      Math.abs(viaLora.loss - viaMerge.loss) < 1e-5 * viaMerge.loss,
      `${viaLora.loss} vs ${viaMerge.loss}`,
    );
    assert.ok(Math.abs(viaLora.loss - toNumbers(reference.loss)[0]) > 1e-3, 'adapters must change the loss');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LoRA gradients match central finite differences along a random direction', async () => {
  const adapters = randomAdapters(9);
  const base = await stepOutputs(lmDir, true, adapters);
  const random = mulberry32(3);
  const direction = Object.fromEntries(
    Object.entries(adapters).map(([n, v]) => [n, Float32Array.from(v, () => random() - 0.5)]),
  );
  let analytic = 0;
  for (const [name, d] of Object.entries(direction)) {
    const g = toNumbers(base.out[`grad.${name}`]);
    for (let i = 0; i < d.length; i++) analytic += g[i] * d[i];
  }
  const eps = 1e-2;
  const shifted = async (sign: number) => {
    const moved = Object.fromEntries(
      Object.entries(adapters).map(([n, v]) => [
        n,
        Float32Array.from(v, (x, i) => x + sign * eps * direction[n][i]),
      ]),
    );
    return (await stepOutputs(lmDir, true, moved)).loss;
  };
  const numeric = ((await shifted(1)) - (await shifted(-1))) / (2 * eps);
  assert.ok(
    Math.abs(numeric - analytic) < 2e-2 * Math.abs(analytic),
    `numeric ${numeric} vs analytic ${analytic}`,
  );
});
