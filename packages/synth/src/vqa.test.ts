import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecipeSchema, SampleSchema } from '@mmit/contracts';
import {
  type BeepClip,
  beepCaptions,
  createRng as mediaRng,
  randomBeepClip,
  randomScene,
  type Scene,
  sceneCaptions,
} from '@mmit/media';
import { diversityOf } from './diversity.js';
import { exportChunks } from './exports.js';
import { LlmGenerator } from './generators/llm/generator.js';
import { TemplateGenerator } from './generators/template/index.js';
import { extractFacts } from './nlp/facts.js';
import { Synthesizer, synthesize } from './synthesizer.js';
import { item } from './testing/items.js';
import { VQA_FORMAT_PROMPT, type VqaQuestion, vqaPhrasing, vqaQuestions } from './vqa.js';

const NUMBERS = ['zero', 'one', 'two', 'three'];

/** The scene's grid place in words, written out here so the test does not trust the captioner. */
function placeName(row: number, column: number): string {
  const rows = ['top', 'middle', 'bottom'];
  const columns = ['left', 'center', 'right'];
  if (row === 1 && column === 1) return 'center';
  return `${rows[row]} ${columns[column]}`;
}
const key = (q: VqaQuestion) => `${q.type} | ${q.question} | ${q.answer}`;
const keys = (qs: VqaQuestion[]) => qs.map(key).sort();

/**
 * What a scene's full captions must yield, from the scene itself (not from its captions): "the
 * <shape>" only when the scene has one of that shape, "the <colour> object" only when it has one
 * thing of that colour, "where" only for a colour-shape pair no other shape shares.
 */
function expectedForScene(scene: Scene): VqaQuestion[] {
  const out: VqaQuestion[] = [];
  const { shapes } = scene;
  for (const s of shapes) {
    const place = placeName(s.row, s.column);
    if (shapes.filter((t) => t.shape === s.shape).length === 1) {
      out.push({ type: 'color', question: vqaPhrasing.color(s.shape), answer: s.colour });
    }
    if (shapes.filter((t) => t.colour === s.colour).length === 1) {
      out.push({ type: 'object', question: vqaPhrasing.object(s.colour), answer: s.shape });
    }
    const twins = shapes.filter((t) => t.shape === s.shape && t.colour === s.colour);
    if (twins.length === 1) {
      out.push({ type: 'position', question: vqaPhrasing.position(s.colour, s.shape), answer: place });
    }
  }
  // "One shape: ...", "Two shapes: ...", "Three shapes: ..." count.
  out.push({ type: 'count', question: vqaPhrasing.count('shapes'), answer: NUMBERS[scene.shapes.length] });
  return out;
}

/** What a clip's full captions must yield, from the clip itself. */
function expectedForClip(clip: BeepClip): VqaQuestion[] {
  const n = clip.beeps.length;
  const tones = { type: 'count' as const, question: vqaPhrasing.count('tones'), answer: NUMBERS[n] };
  if (n === 1) return [{ type: 'count', question: vqaPhrasing.count('beeps'), answer: 'one' }, tones];
  return [
    { type: 'events', question: vqaPhrasing.count('beeps'), answer: NUMBERS[n] },
    tones,
    { type: 'quality', question: vqaPhrasing.quality('pitch', 'first', 'beep'), answer: clip.beeps[0].pitch },
    {
      type: 'quality',
      question: vqaPhrasing.quality('pitch', 'last', 'beep'),
      answer: clip.beeps[n - 1].pitch,
    },
  ];
}

test('vqa phrasings are the agreed words', () => {
  assert.equal(vqaPhrasing.color('star'), 'What color is the star?');
  assert.equal(vqaPhrasing.object('red'), 'What is the red object?');
  assert.equal(vqaPhrasing.count('beeps'), 'How many beeps are there?');
  assert.equal(vqaPhrasing.position('red', 'star'), 'Where is the red star?');
  assert.equal(vqaPhrasing.quality('pitch', 'last', 'beep'), 'What is the pitch of the last beep?');
  assert.equal(VQA_FORMAT_PROMPT, 'Answer the question using a single word or phrase.');
});

test('vqa questions of 200 random scenes are exactly the ones the scene answers, with its answers', () => {
  const rng = mediaRng(101);
  const seen = new Map<string, number>();
  for (let n = 0; n < 200; n++) {
    const scene = randomScene(rng);
    const captions = sceneCaptions(scene);
    assert.deepEqual(keys(vqaQuestions(captions)), keys(expectedForScene(scene)), captions.join(' | '));
    // The first caption alone still places every shape (it is the one the corpus always keeps).
    const fromFirst = vqaQuestions(captions.slice(0, 1));
    assert.deepEqual(
      keys(fromFirst),
      keys(expectedForScene(scene).filter((q) => q.type !== 'count')),
      captions[0],
    );
    const distinct = new Set(scene.shapes.map((s) => `${s.colour} ${s.shape}`)).size;
    const kinds = new Set(scene.shapes.map((s) => s.shape)).size;
    const colours = new Set(scene.shapes.map((s) => s.colour)).size;
    if (scene.shapes.length === 3 && kinds === 3 && colours === 3) {
      const types = vqaQuestions(captions).map((q) => q.type);
      for (const [type, count] of [
        ['color', 3],
        ['object', 3],
        ['position', 3],
        ['count', 1],
      ] as const) {
        assert.equal(types.filter((t) => t === type).length, count, `${type} in ${captions[0]}`);
      }
    }
    const label = `${scene.shapes.length} shapes, ${distinct} distinct`;
    seen.set(label, (seen.get(label) ?? 0) + 1);
  }
  // The sample covers one, two and three shapes, and a repeated colour-shape pair.
  for (const label of ['1 shapes, 1 distinct', '2 shapes, 2 distinct', '3 shapes, 3 distinct']) {
    assert.ok(seen.get(label), `no scene with ${label}: ${[...seen.keys()]}`);
  }
  assert.ok(
    [...seen.keys()].some((k) => k.startsWith('2 shapes, 1') || k.startsWith('3 shapes, 2')),
    'no scene with a repeated pair',
  );
});

test('vqa questions of 200 random clips give the beep count and the pitch of the first and last beep', () => {
  const rng = mediaRng(202);
  const sizes = new Set<number>();
  for (let n = 0; n < 200; n++) {
    const clip = randomBeepClip(rng);
    sizes.add(clip.beeps.length);
    const captions = beepCaptions(clip);
    assert.deepEqual(keys(vqaQuestions(captions)), keys(expectedForClip(clip)), captions.join(' | '));
    // The narrated caption alone: the sequence gives the count and both pitches.
    const narrated = vqaQuestions(captions.slice(0, 1));
    const expected = clip.beeps.length === 1 ? [] : expectedForClip(clip).filter((q) => q.type !== 'count');
    assert.deepEqual(keys(narrated), keys(expected), captions[0]);
  }
  assert.deepEqual([...sizes].sort(), [1, 2, 3]);
});

test('vqa asks nothing about a place two things claim, nor where a repeated pair is', () => {
  const samePlace = vqaQuestions([
    'A red circle at the top left, a blue square at the top left and a green star in the center.',
  ]);
  assert.deepEqual(keys(samePlace), [
    'color | What color is the star? | green',
    'object | What is the green object? | star',
    'position | Where is the green star? | center',
  ]);
  // Captions that agree about a place make one thing; captions that disagree make none.
  assert.deepEqual(
    keys(
      vqaQuestions(['A red circle at the top left.', 'A red circle at the top left on a white background.']),
    ),
    [
      'color | What color is the circle? | red',
      'object | What is the red object? | circle',
      'position | Where is the red circle? | top left',
    ],
  );
  assert.deepEqual(vqaQuestions(['A red circle at the top left.', 'A blue square at the top left.']), []);

  const pair = vqaQuestions([
    'A red star at the top right, an orange circle at the bottom center and a red star at the top left.',
  ]);
  // Two red stars: neither "the star" nor "the red object" nor "the red star" names one thing.
  assert.deepEqual(keys(pair), [
    'color | What color is the circle? | orange',
    'object | What is the orange object? | circle',
    'position | Where is the orange circle? | bottom center',
  ]);
  // A third red star that no caption places: "the star" and "where is the red star" are off.
  const unplaced = vqaQuestions([
    'A red star at the top right and a blue circle in the center.',
    'Two red stars.',
  ]);
  assert.ok(!unplaced.some((q) => q.question === 'What color is the star?'), unplaced.map(key).join('\n'));
  assert.ok(!unplaced.some((q) => q.question === 'Where is the red star?'), unplaced.map(key).join('\n'));
  assert.ok(unplaced.some((q) => q.question === 'What color is the circle?' && q.answer === 'blue'));
  assert.ok(unplaced.some((q) => q.question === 'Where is the blue circle?'));
});

test('vqa names a thing by its kind only when it is the only one of its kind, by colour only when alone in it', () => {
  // One colour, two kinds: each kind has a colour, but "the red object" could be either.
  assert.deepEqual(keys(vqaQuestions(['A red star at the top right and a red circle at the bottom left.'])), [
    'color | What color is the circle? | red',
    'color | What color is the star? | red',
    'position | Where is the red circle? | bottom left',
    'position | Where is the red star? | top right',
  ]);
  // A star at a place two things claim might be the star asked about: no colour question for it.
  assert.deepEqual(
    keys(
      vqaQuestions([
        'A red star at the top left, a blue square at the top left and a green star in the center.',
      ]),
    ),
    ['object | What is the green object? | star'],
  );
  // A thing of no stated colour at a claimed place might be green: no "green object" question.
  assert.deepEqual(
    keys(
      vqaQuestions([
        'A circle at the top left, a blue square at the top left and a green star in the center.',
      ]),
    ),
    ['color | What color is the star? | green', 'position | Where is the green star? | center'],
  );
  // Places are asked for, never given, whatever the thing.
  const rng = mediaRng(33);
  for (let n = 0; n < 50; n++) {
    for (const q of vqaQuestions(sceneCaptions(randomScene(rng)))) {
      if (q.type !== 'position') assert.doesNotMatch(q.question, / at the | in the /, q.question);
    }
  }
  // "What is the red object?" -> "shape" says nothing, nor does "What color is the shape?".
  assert.deepEqual(keys(vqaQuestions(['A red shape at the top left.'])), [
    'position | Where is the red shape? | top left',
  ]);
});

test('vqa counts only from one caption, and only what a number word or a sequence states', () => {
  assert.deepEqual(keys(vqaQuestions(['A low beep.', 'One low beep.'])), [
    'count | How many beeps are there? | one',
  ]);
  assert.deepEqual(vqaQuestions(['A low beep.']), [], 'one event is no narrated sequence');
  assert.deepEqual(vqaQuestions(['Two dogs on a beach.', 'Three dogs playing.']), [], 'captions disagree');
  assert.deepEqual(vqaQuestions(['Two red stars and a blue star.']), [], 'the number covers only some stars');
  assert.deepEqual(vqaQuestions(['A red ball and a blue ball.']), [], 'articles do not count');
  assert.deepEqual(keys(vqaQuestions(['Two dogs on a beach.', 'Two brown dogs.'])), [
    'count | How many dogs are there? | two',
  ]);
  assert.deepEqual(
    vqaQuestions(['A cat on the table.', 'A dog near the top.']),
    [],
    'not places in the frame',
  );
});

test('vqa asks the quality of the first and last event when the word has a known dimension', () => {
  assert.deepEqual(keys(vqaQuestions(['A loud bang, then a soft beep, then a short beep.'])), [
    'quality | What is the length of the last beep? | short',
    'quality | What is the loudness of the first bang? | loud',
  ]);
  assert.deepEqual(vqaQuestions(['A dog barks, then a bird sings.']), []);
});

test('facts: the caption that places things is the richest, whichever caption comes first', () => {
  const captions = sceneCaptions(randomScene(mediaRng(4), 3));
  for (const order of [captions, [...captions].reverse()]) {
    const facts = extractFacts(order);
    assert.ok(
      facts.mentions.length > 0 && facts.mentions.every((m) => m.position),
      JSON.stringify(facts.mentions),
    );
  }
  const bottomLeft = extractFacts(['A green star at the bottom left on a white background.']).mentions[0];
  assert.equal(bottomLeft.position, 'at the bottom left');
});

test('a vqa synth job keeps one single-turn question per sample, never repeating one for an item', async () => {
  const rng = mediaRng(7);
  const items = [
    ...Array.from({ length: 12 }, (_, n) => item(n, sceneCaptions(randomScene(rng)))),
    ...Array.from({ length: 6 }, (_, n) => item(12 + n, beepCaptions(randomBeepClip(rng)), 'audio')),
    item(18, ['A cat sleeps on a sofa.']),
  ];
  const recipe = RecipeSchema.parse({ kinds: { vqa: { perItem: 6 } }, seed: 5 });
  const synth = new Synthesizer({ recipe, generator: new TemplateGenerator() });
  const { samples, outcomes } = await synth.processBatch(items);
  const stats = synth.stats();
  assert.deepEqual(stats.removed, {}, 'no vqa sample may be filtered out');
  for (const [n, it] of items.entries()) {
    const questions = vqaQuestions(it.captions);
    const mine = samples.filter((s) => s.itemId === it.id);
    assert.equal(mine.length, Math.min(6, questions.length), it.captions[0]);
    const token = it.modality === 'image' ? '<image>' : '<audio>';
    const asked = new Set<string>();
    for (const s of mine) {
      SampleSchema.parse(s);
      assert.equal(s.kind, 'vqa');
      assert.equal(s.conversations.length, 2);
      const [human, gpt] = s.conversations;
      const m = new RegExp(`^${token}\\n(.+)\\n${VQA_FORMAT_PROMPT}$`).exec(human.value);
      assert.ok(m, human.value);
      const q = questions.find((x) => x.question === m[1]);
      assert.equal(gpt.value, q?.answer, human.value);
      asked.add(m[1]);
    }
    assert.equal(asked.size, mine.length, 'questions repeat within an item');
    const outcome = outcomes[n];
    if (questions.length === 0) {
      assert.equal(outcome.status, 'failed');
      assert.deepEqual(
        outcome.problems.map((p) => p.reason),
        ['nothing_to_ask'],
      );
    } else {
      assert.equal(outcome.status, 'ok', JSON.stringify(outcome));
    }
  }
  assert.ok(samples.length > 60, `${samples.length} samples`);

  // The same seed picks the same questions; another seed another order.
  const again = await synthesize(items, { recipe, generator: new TemplateGenerator() });
  assert.deepEqual(again.samples, samples);
  const other = await synthesize(items, {
    recipe: RecipeSchema.parse({ kinds: { vqa: { perItem: 2 } }, seed: 6 }),
    generator: new TemplateGenerator(),
  });
  const firstTwo = samples.filter((s) => s.id.endsWith('-0') || s.id.endsWith('-1'));
  assert.notDeepEqual(
    other.samples.map((s) => s.conversations),
    firstTwo.map((s) => s.conversations),
  );

  // The diversity report and the LLaVA export take the kind like any other.
  const report = diversityOf(samples);
  assert.equal(report.samples, samples.length);
  assert.ok(report.answerWords.counts[0] === samples.length, 'every answer is under five words');
  let json = '';
  for await (const chunk of exportChunks(
    'llava',
    (async function* () {
      yield* samples;
    })(),
  )) {
    json += chunk;
  }
  const records = JSON.parse(json) as { id: string; conversations: unknown[] }[];
  assert.equal(records.length, samples.length);
  assert.deepEqual(records[0].conversations, samples[0].conversations);
});

test('vqa samples survive beside other kinds, and a resumed job keeps the same filter memory', async () => {
  const rng = mediaRng(9);
  const items = Array.from({ length: 8 }, (_, n) => item(n, sceneCaptions(randomScene(rng))));
  const recipe = RecipeSchema.parse({
    kinds: { brief: {}, conversation: {}, vqa: { perItem: 10 } },
    filters: { instructionScope: 'dataset', duplicateScope: 'dataset' },
  });
  const { samples, filters } = await synthesize(items, { recipe, generator: new TemplateGenerator() });
  const vqa = samples.filter((s) => s.kind === 'vqa');
  const expected = items.reduce((sum, it) => sum + Math.min(10, vqaQuestions(it.captions).length), 0);
  assert.equal(vqa.length, expected, JSON.stringify(filters.removed));
  // A resumed job that remembers the kept samples drops their exact repeats.
  const resumed = new Synthesizer({ recipe, generator: new TemplateGenerator() });
  resumed.remember(samples);
  const rerun = await resumed.processBatch(items);
  assert.equal(rerun.samples.length, 0);
  assert.ok((resumed.stats().removed.exact_duplicate?.samples ?? 0) >= vqa.length);
});

test('the llm generator makes vqa samples from the facts, without a request', async () => {
  const recipe = RecipeSchema.parse({ kinds: { vqa: { perItem: 3 } }, generator: 'llm' });
  const generator = new LlmGenerator({
    // Nothing listens on port 9 of loopback: any request would fail the samples.
    endpoint: { baseUrl: 'http://127.0.0.1:9/v1', model: 'unused' },
    options: recipe.llm,
  });
  const it = item(0, ['A blue square at the top left and a yellow triangle at the bottom right.']);
  const { samples, outcomes } = await synthesize([it], { recipe, generator });
  assert.equal(outcomes[0].status, 'ok', JSON.stringify(outcomes[0]));
  assert.equal(samples.length, 3);
  assert.ok(samples.every((s) => s.kind === 'vqa' && s.generator === 'llm'));
  assert.equal(generator.usage().requests, 0);
});
