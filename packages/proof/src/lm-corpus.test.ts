import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planTask } from './generate.js';
import { compactDescription, DESCRIBE_INSTRUCTION, pretrainConversations } from './lm-corpus.js';

const plan = planTask({ seed: 3, train: 40, test: 10 });

test('the compact description names each shape by one place word, then colour and shape', () => {
  const scene = {
    background: 'white' as const,
    noise: 0,
    shapes: [
      { shape: 'star' as const, colour: 'green' as const, row: 0 as const, column: 2 as const, size: 0.12 },
      { shape: 'circle' as const, colour: 'red' as const, row: 1 as const, column: 1 as const, size: 0.12 },
    ],
  };
  assert.equal(compactDescription({ name: 'x.png', scene }), 'top_right green star , center red circle');
});

test('every training question is answerable from the description in its context', () => {
  const conversations = pretrainConversations(plan);
  const questions = conversations.filter(
    (c) => !Object.values(DESCRIBE_INSTRUCTION).some((d) => c[0].content.endsWith(d)),
  );
  assert.equal(questions.length, plan.questions.train.length);
  for (const [context, answer] of questions.map((c) => [c[0].content.split('\n')[0], c[1].content])) {
    // Place answers are written with an underscore in the context ("top_left").
    const word = answer.replace(' ', '_');
    const counted = ['one', 'two', 'three'].includes(answer);
    assert.ok(counted || context.split(' ').includes(word), `"${answer}" is not in "${context}"`);
  }
  // Only the training split is read: one describe conversation per training item, nothing from test.
  const trainItems = plan.items.filter((i) => i.split === 'train').length;
  assert.equal(conversations.length - questions.length, trainItems);
});
