import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { argmax, createPicker } from './sampler.js';

const logits = Float32Array.from([1, 3, 2, 3, -1]);

function histogram(pick: (l: Float32Array) => number, draws: number): number[] {
  const counts = new Array(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[pick(logits)]++;
  return counts;
}

describe('sampler', () => {
  it('is greedy at temperature 0, breaking ties on the lowest id', () => {
    assert.equal(argmax(logits), 1);
    assert.equal(createPicker({ temperature: 0, topK: 0, topP: 1 })(logits), 1);
  });

  it('repeats a seeded draw exactly and differs across seeds', () => {
    const draw = (seed: number) => {
      const pick = createPicker({ temperature: 1, topK: 0, topP: 1, seed });
      return Array.from({ length: 50 }, () => pick(logits)).join(',');
    };
    assert.equal(draw(7), draw(7));
    assert.notEqual(draw(7), draw(8));
  });

  it('top_k keeps only the k most likely tokens', () => {
    const counts = histogram(createPicker({ temperature: 1, topK: 2, topP: 1, seed: 1 }), 2000);
    assert.equal(counts[0] + counts[2] + counts[4], 0);
    assert.ok(counts[1] > 800 && counts[3] > 800, `both tied tokens are drawn: ${counts}`);
  });

  it('top_p keeps the smallest set that reaches p', () => {
    // softmax([1,3,2,3,-1]): the two 3s hold ~0.73 together, the 2 brings it to ~0.91.
    const two = histogram(createPicker({ temperature: 1, topK: 0, topP: 0.7, seed: 2 }), 2000);
    assert.equal(two[0] + two[2] + two[4], 0, `${two}`);
    const three = histogram(createPicker({ temperature: 1, topK: 0, topP: 0.9, seed: 2 }), 2000);
    assert.ok(three[2] > 0, `${three}`);
    assert.equal(three[0] + three[4], 0, `${three}`);
  });

  it('follows the softmax at temperature 1 and flattens it at higher temperatures', () => {
    const p = (t: number) =>
      histogram(createPicker({ temperature: t, topK: 0, topP: 1, seed: 3 }), 20_000)[4] / 20_000;
    const exact = Math.exp(-1) / [1, 3, 2, 3, -1].reduce((s, x) => s + Math.exp(x), 0);
    assert.ok(Math.abs(p(1) - exact) < 0.005, `p(-1) = ${p(1)}, softmax gives ${exact}`);
    assert.ok(p(2) > 2 * p(1));
  });
});
