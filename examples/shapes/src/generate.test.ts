import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Colour, normalizeImage, type PlacedShape, SHAPES, type Shape } from '@mmit/media';
import { onlyKinds, planTask, renderItem, type TaskPlan } from './generate.js';
import {
  ANSWERS,
  allColourShapePairs,
  COLOUR_NAMES,
  colourPlaceKey,
  colourShapeKey,
  type HeldOutKind,
  POSITIONS,
  shapePlaceKey,
} from './task.js';

const plan = planTask({ seed: 7, train: 120, test: 40 });
const pairsPlan = planTask({ seed: 7, train: 120, test: 40, heldOut: 'colour-shape' });

const placeOf = (s: PlacedShape) => POSITIONS.find((p) => p.row === s.row && p.column === s.column)!.name;
/** Every combination of both kinds each shape of a split holds. */
const combinationsIn = (p: TaskPlan, split: 'train' | 'test') =>
  new Set(
    p.items
      .filter((i) => i.split === split && i.scene)
      .flatMap((i) =>
        i.scene!.shapes.flatMap((s) => [
          colourShapeKey(s.colour, s.shape),
          colourPlaceKey(s.colour, placeOf(s)),
          shapePlaceKey(s.shape, placeOf(s)),
        ]),
      ),
  );
const everyColourAndShapeTaught = (train: Set<string>) => {
  for (const what of [...COLOUR_NAMES, ...SHAPES])
    assert.ok(
      [...train].some((k) => k.startsWith(`${what} at `)),
      `no ${what}`,
    );
};
const heldOutItemsHoldTheirCombination = (p: TaskPlan) => {
  const testImages = p.items.filter((i) => i.split === 'test' && i.kind === 'image');
  assert.equal(testImages.filter((i) => i.heldOut).length, testImages.length / 2);
  const test = combinationsIn(p, 'test');
  for (const key of p.heldOutCombinations) assert.ok(test.has(key), `${key} never tested`);
  for (const item of testImages.filter((i) => i.heldOut)) {
    const held = item.scene!.shapes.flatMap((s) => [
      colourShapeKey(s.colour, s.shape),
      colourPlaceKey(s.colour, placeOf(s)),
      shapePlaceKey(s.shape, placeOf(s)),
    ]);
    assert.ok(
      held.some((key) => p.heldOutCombinations.includes(key)),
      item.name,
    );
  }
};

test('the same seed plans the same task; another seed another', () => {
  assert.deepEqual(planTask({ seed: 7, train: 120, test: 40 }), plan);
  assert.notDeepEqual(planTask({ seed: 8, train: 120, test: 40 }).questions.test, plan.questions.test);
});

test('held-out places: a colour or a shape never at its place in training, and in half the test pictures', () => {
  assert.equal(plan.heldOutKind, 'places');
  assert.equal(plan.heldOutCombinations.length, 4);
  const train = combinationsIn(plan, 'train');
  for (const key of plan.heldOutCombinations) assert.ok(!train.has(key), `${key} leaked into training`);
  // Two colours and two shapes, each at a place of its own.
  const [what, where] = [0, 1].map((side) => plan.heldOutCombinations.map((key) => key.split(' at ')[side]));
  assert.equal(what.filter((w) => COLOUR_NAMES.includes(w as Colour)).length, 2);
  assert.equal(what.filter((w) => SHAPES.includes(w as Shape)).length, 2);
  assert.equal(new Set(where).size, 4);
  // Every colour, every shape and every place is still taught, and every colour-shape pair.
  everyColourAndShapeTaught(train);
  for (const p of POSITIONS)
    assert.ok(
      [...train].some((k) => k.endsWith(` at ${p.name}`)),
      `nothing at ${p.name}`,
    );
  for (const pair of allColourShapePairs()) assert.ok(train.has(pair), `${pair} not taught`);
  heldOutItemsHoldTheirCombination(plan);
});

test('held-out colour-shape pairs never appear in training and appear in half the test pictures', () => {
  assert.equal(pairsPlan.heldOutKind, 'colour-shape');
  assert.equal(pairsPlan.heldOutCombinations.length, 4);
  const train = combinationsIn(pairsPlan, 'train');
  for (const pair of pairsPlan.heldOutCombinations)
    assert.ok(!train.has(pair), `${pair} leaked into training`);
  // Every colour and every shape is still taught.
  everyColourAndShapeTaught(train);
  heldOutItemsHoldTheirCombination(pairsPlan);
});

test('a plan refuses held-out combinations it cannot read', () => {
  const fixed = (combinations: string[], heldOut: HeldOutKind) =>
    planTask({ seed: 1, train: 2, test: 2, heldOut, fixedHeldOut: { combinations, patterns: [] } });
  assert.throws(() => fixed(['red at the moon'], 'places'), /names no place/);
  assert.throws(() => fixed(['huge at top left'], 'places'), /neither a colour nor a shape/);
  assert.throws(() => fixed(['red at top left'], 'colour-shape'), /not a colour-shape pair/);
  assert.equal(fixed(['red at top left'], 'places').heldOutCombinations[0], 'red at top left');
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

for (const [kind, plan] of [
  ['places', planTask({ seed: 7, train: 120, test: 40 })],
  ['colour-shape', planTask({ seed: 7, train: 120, test: 40, heldOut: 'colour-shape' })],
] as const)
  test(`a question is novel exactly when the shape it names (a count: the picture) or its clip holds a held-out combination (${kind})`, () => {
    const byName = new Map(
      plan.items.filter((i) => i.split === 'test').map((i) => [`${i.kind}/${i.name}`, i]),
    );
    const held = (s: PlacedShape) =>
      (kind === 'places'
        ? [colourPlaceKey(s.colour, placeOf(s)), shapePlaceKey(s.shape, placeOf(s))]
        : [colourShapeKey(s.colour, s.shape)]
      ).some((key) => plan.heldOutCombinations.includes(key));
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

test('a plan refuses held-out combinations that leave a place no shape training may put there', () => {
  const everyColourAtTopLeft = COLOUR_NAMES.map((c) => colourPlaceKey(c, 'top left'));
  assert.throws(
    () =>
      planTask({
        seed: 1,
        train: 4,
        test: 2,
        fixedHeldOut: { combinations: everyColourAtTopLeft, patterns: [] },
      }),
    /no shape training may put at top left/,
  );
  assert.throws(
    () => planTask({ seed: 1, train: 4, test: 2, heldOut: 'everything' as HeldOutKind }),
    /valid kinds/,
  );
});
