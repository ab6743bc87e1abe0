import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EngineProofResult } from './engine-proof.js';
import { accuracyByPart, formatProofReport, proofJson } from './report.js';
import type { TaskQuestion } from './task.js';

const q = (type: 'colour' | 'pitch', answer: string, novel: boolean): TaskQuestion => ({
  file: 'x',
  kind: type === 'pitch' ? 'audio' : 'image',
  type,
  question: '?',
  answer,
  novel,
});

test('accuracy by part scores held-out combinations and unseen renders apart', () => {
  const parts = accuracyByPart([
    { question: q('colour', 'red', true), got: 'red' },
    { question: q('colour', 'blue', true), got: 'green' },
    { question: q('colour', 'green', false), got: 'Green.' },
    { question: q('pitch', 'low', false), got: 'high' },
  ]);
  assert.equal(parts.heldOutCombinations.colour, 0.5);
  assert.equal(parts.unseenRenders.colour, 1);
  assert.equal(parts.unseenRenders.pitch, 0);
  assert.ok(Number.isNaN(parts.heldOutCombinations.pitch));
});

test('the report and the JSON name what the test split holds out', () => {
  const answers = [{ question: q('colour', 'red', true), got: 'red' }];
  const scores = {
    colour: 1,
    shape: Number.NaN,
    count: Number.NaN,
    position: Number.NaN,
    beeps: Number.NaN,
    pitch: Number.NaN,
  };
  const result: EngineProofResult = {
    heldOut: {
      kind: 'places',
      combinations: ['red at top left', 'star at center'],
      patterns: ['high low high'],
    },
    accuracy: scores,
    chance: scores,
    lmLosses: [1, 0.5],
    lmFrom: 'the repository',
    projectorLosses: { image: [2, 1] },
    answers,
    seconds: 1,
  };
  const report = formatProofReport(result);
  assert.match(report, /red at top left, star at center \(places\); high low high \(pitch patterns\)/);
  assert.deepEqual(proofJson(result).heldOut, result.heldOut);
});
