import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeImage, type PlacedShape } from '@mmit/media';
import { onlyKinds, planTask, renderItem } from './generate.js';
import { ANSWERS, allColourShapePairs, colourShapeKey, POSITIONS } from './task.js';

const plan = planTask({ seed: 7, train: 120, test: 40 });
const pairsOf = (split: 'train' | 'test') =>
  plan.items
    .filter((i) => i.split === split && i.scene)
    .flatMap((i) => i.scene!.shapes.map((s) => colourShapeKey(s.colour, s.shape)));

test('the same seed plans the same task; another seed another', () => {
  assert.deepEqual(planTask({ seed: 7, train: 120, test: 40 }), plan);
  assert.notDeepEqual(planTask({ seed: 8, train: 120, test: 40 }).questions.test, plan.questions.test);
});

test('held-out colour-shape pairs never appear in training and appear in half the test pictures', () => {
  assert.equal(plan.heldOutPairs.length, 4);
  const train = new Set(pairsOf('train'));
  for (const pair of plan.heldOutPairs) assert.ok(!train.has(pair), `${pair} leaked into training`);
  // Every colour and every shape is still taught.
  for (const pair of allColourShapePairs().filter((p) => !plan.heldOutPairs.includes(p))) {
    const [colour, shape] = pair.split(' ');
    assert.ok(
      pairsOf('train').some((p) => p.startsWith(`${colour} `)),
      `no ${colour} in training`,
    );
    assert.ok(
      pairsOf('train').some((p) => p.endsWith(` ${shape}`)),
      `no ${shape} in training`,
    );
  }
  const testImages = plan.items.filter((i) => i.split === 'test' && i.kind === 'image');
  assert.equal(testImages.filter((i) => i.heldOut).length, testImages.length / 2);
  for (const item of testImages.filter((i) => i.heldOut)) {
    assert.ok(item.scene!.shapes.some((s) => plan.heldOutPairs.includes(colourShapeKey(s.colour, s.shape))));
  }
});

test('held-out beep patterns appear only in test clips', () => {
  const patterns = (split: string) =>
    plan.items
      .filter((i) => i.split === split && i.clip)
      .map((i) => i.clip!.beeps.map((b) => b.pitch).join(' '));
  for (const p of plan.heldOutPatterns) {
    assert.ok(!patterns('train').includes(p));
    assert.ok(patterns('test').includes(p));
  }
});

test("every question has one of its type's answers, and the answer is true of the item", () => {
  const asked = (['train', 'test'] as const).flatMap((split) =>
    plan.questions[split].map((q) => ({ split, q })),
  );
  for (const { split, q } of asked) {
    assert.ok(ANSWERS[q.type].includes(q.answer), `${q.type} answer ${q.answer}`);
    const item = plan.items.find((i) => i.split === split && i.name === q.file)!;
    if (q.type === 'count')
      assert.equal(['one', 'two', 'three'].indexOf(q.answer) + 1, item.scene!.shapes.length);
    if (q.type === 'colour') {
      // "What color is the circle?" is asked only of the scene's one circle.
      const kind = item.scene!.shapes.filter((s) => q.question === `What color is the ${s.shape}?`);
      assert.equal(kind.length, 1, q.question);
      assert.equal(kind[0].colour, q.answer);
    }
    if (q.type === 'shape') {
      const coloured = item.scene!.shapes.filter((s) => q.question === `What is the ${s.colour} object?`);
      assert.equal(coloured.length, 1, q.question);
      assert.equal(coloured[0].shape, q.answer);
    }
    if (q.type === 'position') {
      const [colour, shape] = q.question.replace(/^Where is the |\?$/g, '').split(' ');
      const pair = item.scene!.shapes.filter((s) => s.colour === colour && s.shape === shape);
      assert.equal(pair.length, 1, q.question);
      assert.equal(
        POSITIONS.find((p) => p.row === pair[0].row && p.column === pair[0].column)!.name,
        q.answer,
      );
    }
    if (q.type === 'pitch') {
      const beeps = item.clip!.beeps;
      const which = q.question.includes('first') ? beeps[0] : beeps[beeps.length - 1];
      assert.ok(beeps.length >= 2);
      assert.equal(which.pitch, q.answer);
    }
    if (q.type === 'beeps')
      assert.equal(['one', 'two', 'three'].indexOf(q.answer) + 1, item.clip!.beeps.length);
  }
  const types = new Set(plan.questions.test.map((q) => q.type));
  assert.deepEqual([...types].sort(), ['beeps', 'colour', 'count', 'pitch', 'position', 'shape']);
});

test('shapes sit only at the five places, and captions name them', () => {
  for (const item of plan.items.filter((i) => i.scene)) {
    for (const s of item.scene!.shapes) {
      assert.ok(POSITIONS.some((p) => p.row === s.row && p.column === s.column));
      assert.match(item.captions[0], new RegExp(`${s.colour} ${s.shape}`));
    }
  }
});

test('renders are decodable media of the planned kind and differ between items', async () => {
  const image = await renderItem(plan.items[0], 0);
  const decoded = await normalizeImage(image.bytes);
  assert.ok(decoded.width > 0);
  const other = await renderItem(plan.items[1], 1);
  assert.notDeepEqual(image.bytes, other.bytes);
  const clip = await renderItem(plan.items.find((i) => i.kind === 'audio')!, 2);
  assert.equal(new TextDecoder().decode(clip.bytes.subarray(0, 4)), 'RIFF');
});

test('onlyKinds keeps the items and questions of the kinds asked for, and the plan whole for both', () => {
  const plan = planTask({ seed: 4, train: 12, test: 6 });
  const audio = onlyKinds(plan, ['audio']);
  assert.ok(audio.items.length > 0 && audio.items.every((item) => item.kind === 'audio'));
  assert.equal(audio.items.length, plan.items.filter((item) => item.kind === 'audio').length);
  for (const split of ['train', 'test'] as const) {
    assert.ok(audio.questions[split].every((q) => q.kind === 'audio'));
    assert.equal(
      audio.questions[split].length,
      plan.questions[split].filter((q) => q.kind === 'audio').length,
    );
  }
  assert.equal(onlyKinds(plan, ['image', 'audio']), plan);
});

test('a question is novel exactly when the shape it names (a count: the picture) or its clip holds a held-out combination', () => {
  const byName = new Map(plan.items.filter((i) => i.split === 'test').map((i) => [`${i.kind}/${i.name}`, i]));
  const held = (s: PlacedShape) => plan.heldOutPairs.includes(colourShapeKey(s.colour, s.shape));
  let novel = 0;
  for (const q of plan.questions.test) {
    const item = byName.get(`${q.kind}/${q.file}`)!;
    let expected: boolean;
    if (item.clip) expected = plan.heldOutPatterns.includes(item.clip.beeps.map((b) => b.pitch).join(' '));
    else if (q.type === 'count') expected = item.scene!.shapes.some(held);
    else {
      // The question's wording names its shape; the answer is the attribute it asks for.
      const subject = item.scene!.shapes.filter((s) =>
        q.type === 'colour'
          ? q.question.includes(` ${s.shape}?`) && s.colour === q.answer
          : q.type === 'shape'
            ? q.question.includes(` ${s.colour} `) && s.shape === q.answer
            : q.question.includes(` ${s.colour} ${s.shape}`),
      );
      assert.equal(subject.length, 1, `${q.file}: ${q.question}`);
      expected = held(subject[0]);
    }
    assert.equal(q.novel, expected, `${q.kind}/${q.file}: ${q.question}`);
    if (q.novel) novel++;
  }
  // Both parts of the split are asked about.
  assert.ok(novel > 0 && novel < plan.questions.test.length, `${novel} novel questions`);
  assert.ok(plan.questions.train.every((q) => !q.novel));
});
