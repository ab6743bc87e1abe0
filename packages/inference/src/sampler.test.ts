import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { argmax, createPicker, logSoftmax, tokenLogprobs } from './sampler.js';

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

describe('sampler: bias, penalties, logprobs', () => {
  const flat = Float32Array.from([2, 1.5, 1, 0]);

  it('frequency penalty lowers a token once per time it was picked; presence once in all', () => {
    // Greedy: 0 first; with frequency 0.6 it falls to 1.4 (< 1.5) so 1 follows, then 0.9 vs 1.4: 0 again.
    const freq = createPicker({ temperature: 0, topK: 0, topP: 1, frequencyPenalty: 0.6 });
    assert.deepEqual([freq(flat), freq(flat), freq(flat), freq(flat)], [0, 1, 0, 2]);
    // Presence 0.6 takes each picked token down once however often it came: 0 stays at 1.4, ahead of 2.
    const presence = createPicker({ temperature: 0, topK: 0, topP: 1, presencePenalty: 0.6 });
    assert.deepEqual([presence(flat), presence(flat), presence(flat), presence(flat)], [0, 1, 0, 0]);
    const none = createPicker({ temperature: 0, topK: 0, topP: 1 });
    assert.deepEqual([none(flat), none(flat)], [0, 0]);
    // A negative penalty encourages repetition (OpenAI allows -2..2).
    const repeat = createPicker({ temperature: 0, topK: 0, topP: 1, frequencyPenalty: -1 });
    assert.deepEqual([repeat(flat), repeat(flat)], [0, 0]);
    assert.deepEqual(Array.from(flat), [2, 1.5, 1, 0], "the caller's logits are not changed");
  });

  it('logit_bias moves a token before sampling; -100 bans it', () => {
    const pick = createPicker({ temperature: 0, topK: 0, topP: 1, logitBias: new Map([[3, 5]]) });
    assert.equal(pick(flat), 3);
    const banned = createPicker({
      temperature: 1,
      topK: 0,
      topP: 1,
      seed: 4,
      logitBias: new Map([[0, -100]]),
    });
    for (let i = 0; i < 500; i++) assert.notEqual(banned(flat), 0);
  });

  it('logprobs are the log-softmax of the logits, top ones descending with ties on the lower id', () => {
    const sum = [1, 3, 2, 3, -1].reduce((s, x) => s + Math.exp(x), 0);
    const lp = logSoftmax(logits);
    for (const [i, v] of lp.entries()) assert.ok(Math.abs(v - (logits[i] - Math.log(sum))) < 1e-9, `${v}`);
    const { token, top } = tokenLogprobs(logits, 2, 3);
    assert.equal(token.id, 2);
    assert.equal(token.logprob, lp[2]);
    assert.deepEqual(
      top.map((t) => t.id),
      [1, 3, 2],
    );
    assert.deepEqual(tokenLogprobs(logits, 0, 0).top, []);
  });
});
