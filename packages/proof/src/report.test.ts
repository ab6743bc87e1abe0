import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accuracyByPart } from './report.js';
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
