// The run loop against Hugging Face's own numbers: five AdamW steps on the projector of a tiny
// Llama and a tiny Qwen2 (case_llava_train_*), through the same Trainer the service runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupedAdamW } from '@mmit/models';
import { createSession } from '@mmit/tensor';
import { fixturesDir } from '../../../test/paths.js';
import { type LoopConfig, Trainer } from './loop.js';
import { paramGroups } from './plan.js';
import { loadTrainCase, relativeError } from './testing.js';

for (const lm of ['llama', 'qwen2'] as const) {
  test(`five AdamW steps reproduce case_llava_train_${lm} (losses 1e-4, parameters 1e-3)`, async () => {
    const c = loadTrainCase(fixturesDir, lm);
    const optimizer = new GroupedAdamW(
      c.initial,
      paramGroups(c.step.params, {
        lr: c.optimizer.lr,
        betas: c.optimizer.betas,
        eps: c.optimizer.eps,
        weightDecay: c.optimizer.weight_decay,
        decayBiases: true, // the reference is torch.optim.AdamW over all projector parameters
      }),
      { betas: c.optimizer.betas, eps: c.optimizer.eps },
    );
    const config: LoopConfig = {
      batchSize: c.examples.length,
      gradAccumulation: 1,
      totalSteps: 5,
      maxGradNorm: null,
      schedule: { type: 'constant', warmupSteps: 0, totalSteps: 5, minLrRatio: 0 },
      seed: 0,
      evalEvery: 0,
      checkpointEvery: 0,
      padTokenId: 0,
      padToMultipleOf: 16,
      groupByLength: true, // the spec's default: padding must not move the trajectory
    };
    const session = await createSession(c.step.graph, { ep: 'cpu' });
    const trainer = new Trainer({
      step: c.step,
      session,
      features: c.features,
      train: c.examples,
      validation: c.examples,
      optimizer,
      config,
    });
    const losses: number[] = [];
    let after = Number.NaN;
    await trainer.run({
      onStep: (m) => {
        losses.push(m.loss);
      },
      onEval: (m) => {
        after = m.loss;
      },
    });
    losses.push(after);
    losses.forEach((loss, i) => {
      const rel = Math.abs(loss - c.losses[i]) / Math.abs(c.losses[i]);
      assert.ok(rel < 1e-4, `loss ${i}: ${loss} vs ${c.losses[i]} (rel ${rel.toExponential(2)})`);
    });
    for (const name of c.step.params) {
      const rel = relativeError(trainer.parameters[name], c.final[name]);
      assert.ok(rel < 1e-3, `${name}: rel ${rel.toExponential(2)}`);
    }
  });
}
