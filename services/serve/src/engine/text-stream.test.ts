import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TextStream } from './text-stream.js';

// A decoder over a tiny vocabulary where one character (é) spans two tokens, as in byte-level BPE.
const pieces: Record<number, number[]> = {
  1: [0x48],
  2: [0x69],
  3: [0xc3],
  4: [0xa9],
  5: [0x20],
  6: [0x45],
  7: [0x4e],
  8: [0x44],
};
const decoder = {
  decode: (ids: number[]) => Buffer.from(ids.flatMap((id) => pieces[id])).toString('utf8'),
};

function run(ids: number[], stops: string[]) {
  const stream = new TextStream(decoder, stops);
  const deltas: string[] = [];
  let stopped = false;
  for (const id of ids) {
    const step = stream.push(id);
    if (step.delta) deltas.push(step.delta);
    if (step.stopped) {
      stopped = true;
      break;
    }
  }
  const rest = stream.finish();
  if (rest) deltas.push(rest);
  return { deltas, stopped, text: stream.text };
}

describe('TextStream', () => {
  it('never releases half a character', () => {
    const { deltas, text } = run([1, 3, 4, 2], []);
    assert.equal(text, 'Héi');
    assert.ok(
      deltas.every((d) => !d.includes('\uFFFD')),
      JSON.stringify(deltas),
    );
  });

  it('cuts the text before a stop string that spans tokens, and holds back a possible start', () => {
    const { deltas, stopped, text } = run([1, 2, 5, 6, 7, 8, 1], [' END']);
    assert.equal(stopped, true);
    assert.equal(text, 'Hi');
    assert.deepEqual(deltas, ['H', 'i']);
  });

  it('releases a held-back prefix when the stop string does not follow', () => {
    const { text, stopped } = run([1, 5, 6, 2], [' END']);
    assert.equal(stopped, false);
    assert.equal(text, 'H Ei');
  });

  it('picks the earliest of several stop strings', () => {
    assert.equal(run([1, 2, 5, 6, 7, 8], ['END', 'i ']).text, 'H');
  });
});
