import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  buildCachedGraph,
  buildForwardGraph,
  languageModelFromCheckpoint,
  openCheckpointFolder,
  pastName,
  positionsFromMask,
  presentName,
} from '@mmit/models';
import { createSession, type HostTensor } from '@mmit/tensor';
import { fixturesDir } from '../../../test/paths.js';
import { createGenerator } from './generate.js';

// Two prompts of different lengths, left-padded with id 5 (<pad>), then three continuation tokens.
const prompts = [
  [38, 271, 386, 321, 294, 324, 262],
  [332, 267, 356, 84],
];
const continuation = [
  [88, 262, 226],
  [19, 2, 300],
];

function leftPadded(rows: number[][], pad: number): { ids: HostTensor<'int32'>; mask: HostTensor<'int32'> } {
  const length = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * length).fill(pad);
  const mask = new Int32Array(rows.length * length);
  rows.forEach((row, b) => {
    ids.set(row, b * length + length - row.length);
    mask.fill(1, b * length + length - row.length, (b + 1) * length);
  });
  return {
    ids: { dtype: 'int32', dims: [rows.length, length], data: ids },
    mask: { dtype: 'int32', dims: [rows.length, length], data: mask },
  };
}

function columns(t: HostTensor, from: number, count: number): HostTensor<'int32'> | HostTensor {
  const [batch, length, ...rest] = t.dims;
  const inner = rest.reduce((a, b) => a * b, 1);
  const data = new (t.data.constructor as Int32ArrayConstructor)(batch * count * inner);
  for (let b = 0; b < batch; b++) {
    data.set(
      (t.data as Int32Array).subarray((b * length + from) * inner, (b * length + from + count) * inner),
      b * count * inner,
    );
  }
  return { dtype: t.dtype, dims: [batch, count, ...rest], data } as HostTensor;
}

for (const model of ['tiny-llama', 'tiny-qwen2']) {
  test(`${model}: prefill + decode steps give the full forward's logits (max abs diff < 1e-5)`, async () => {
    const lm = languageModelFromCheckpoint(openCheckpointFolder(join(fixturesDir, model)));
    const full = leftPadded(
      prompts.map((p, b) => [...p, ...continuation[b]]),
      5,
    );
    const [batch, total] = full.ids.dims;
    const forward = await createSession(buildForwardGraph(lm, { input: 'ids' }));
    const reference = (
      await forward.run({
        input_ids: full.ids,
        attention_mask: full.mask,
        position_ids: positionsFromMask(full.mask, total),
      })
    ).logits.data as Float32Array;

    const generator = createGenerator(lm);
    const embeds = await generator.embed(full.ids);
    const prefill = await createSession(buildCachedGraph(lm, { withPast: false }));
    const decode = await createSession(buildCachedGraph(lm, { withPast: true }));
    const promptLength = total - 3;
    const promptMask = columns(full.mask, 0, promptLength) as HostTensor<'int32'>;
    let out = await prefill.run({
      inputs_embeds: columns(embeds, 0, promptLength),
      attention_mask: promptMask,
      position_ids: positionsFromMask(promptMask, promptLength),
    });
    const vocab = lm.config.vocabSize;
    let worst = 0;
    const compare = (logits: Float32Array, from: number, count: number) => {
      for (let b = 0; b < batch; b++) {
        for (let t = 0; t < count; t++) {
          for (let v = 0; v < vocab; v++) {
            const mine = logits[(b * count + t) * vocab + v];
            const theirs = reference[(b * total + from + t) * vocab + v];
            worst = Math.max(worst, Math.abs(mine - theirs));
          }
        }
      }
    };
    compare(out.logits.data as Float32Array, 0, promptLength);
    for (let t = promptLength; t < total; t++) {
      const mask = columns(full.mask, 0, t + 1) as HostTensor<'int32'>;
      const feeds: Record<string, HostTensor> = {
        inputs_embeds: columns(embeds, t, 1),
        attention_mask: mask,
        position_ids: positionsFromMask(mask, 1),
      };
      for (let i = 0; i < lm.config.numLayers; i++) {
        feeds[pastName(i, 'key')] = out[presentName(i, 'key')];
        feeds[pastName(i, 'value')] = out[presentName(i, 'value')];
      }
      out = await decode.run(feeds);
      assert.deepEqual(out[presentName(0, 'key')].dims, [
        batch,
        lm.config.numKvHeads,
        t + 1,
        lm.config.headDim,
      ]);
      compare(out.logits.data as Float32Array, t, 1);
    }
    assert.ok(worst < 1e-5, `max abs diff ${worst}`);
    lm.checkpoint.close();
  });

  test(`${model}: greedy generate() picks the full forward's argmax at every step`, async () => {
    const lm = languageModelFromCheckpoint(openCheckpointFolder(join(fixturesDir, model)));
    const generator = createGenerator(lm);
    const newTokens = await generator.generate(prompts, { maxNewTokens: 4, eosTokenIds: [] });
    assert.deepEqual(
      newTokens.map((r) => r.length),
      [4, 4],
    );
    const full = leftPadded(
      prompts.map((p, b) => [...p, ...newTokens[b]]),
      5,
    );
    const [batch, total] = full.ids.dims;
    const forward = await createSession(buildForwardGraph(lm, { input: 'ids' }));
    const logits = (
      await forward.run({
        input_ids: full.ids,
        attention_mask: full.mask,
        position_ids: positionsFromMask(full.mask, total),
      })
    ).logits.data as Float32Array;
    const vocab = lm.config.vocabSize;
    for (let b = 0; b < batch; b++) {
      for (let k = 0; k < 4; k++) {
        const row = logits.subarray((b * total + total - 5 + k) * vocab, (b * total + total - 4 + k) * vocab);
        const argmax = row.indexOf(Math.max(...row));
        assert.equal(newTokens[b][k], argmax, `row ${b} token ${k}`);
      }
    }
    lm.checkpoint.close();
  });
}
