import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FilterConfigSchema } from '@mmit/contracts';
import type { Draft } from '../draft.js';
import { FilterChain } from './chain.js';
import { hedgingPhrase } from './hedging.js';
import { detectLanguage } from './language.js';
import { estimateJaccard, signature } from './minhash.js';
import { InstructionMemory, rougeL } from './rouge.js';
import { shingleHashes, words } from './text.js';
import { UnsafeWords } from './unsafe.js';

const config = (over: object = {}) => FilterConfigSchema.parse(over);
const known = new Set(['dog', 'ball', 'park', 'grass']);
const draft = (turns: [string, string][], pooled = false): Draft => ({
  kind: 'conversation',
  index: 0,
  turns: turns.map(([question, answer]) => ({ question, answer, pooled })),
});

test('ROUGE-L F1 is 2*LCS/(m+n), and the memory finds instructions above the threshold', () => {
  assert.equal(rougeL(words('what color is the dog'), words('what color is the dog')), 1);
  // LCS("what is the dog doing", "what color is the dog") = "what is the dog" = 4 -> 8/10
  assert.equal(rougeL(words('what is the dog doing'), words('what color is the dog')), 0.8);
  const memory = new InstructionMemory(0.7);
  memory.add(words('What color is the dog?'));
  assert.ok(memory.tooSimilar(words('What colour is the dog?'))! > 0.7);
  assert.equal(memory.tooSimilar(words('How many balls are in the park?')), undefined);
});

test('MinHash estimates Jaccard similarity of shingle sets', () => {
  const base =
    'a brown dog chases a red ball across the green grass of the park on a sunny afternoon while children watch';
  const near = base.replace('sunny', 'warm');
  const far = 'three short tones ring out in an otherwise silent room followed by a long low hum';
  const sig = (t: string) => signature(shingleHashes(words(t)));
  const trueNear = (() => {
    const a = new Set(shingleHashes(words(base)));
    const b = new Set(shingleHashes(words(near)));
    return [...a].filter((x) => b.has(x)).length / new Set([...a, ...b]).size;
  })();
  assert.ok(Math.abs(estimateJaccard(sig(base), sig(near)) - trueNear) < 0.2);
  assert.ok(estimateJaccard(sig(base), sig(far)) < 0.1);
});

test('hedging, language and unsafe checks recognise what they should and spare what they should not', () => {
  assert.equal(
    hedgingPhrase('The colour of the ball cannot be determined from the image.'),
    'cannot be determined',
  );
  assert.equal(hedgingPhrase('It is not visible in this picture.'), 'is not visible');
  assert.equal(hedgingPhrase('According to the caption, a dog runs.'), 'according to the caption');
  assert.equal(hedgingPhrase('The dog is clearly visible on the left.'), undefined);
  assert.equal(detectLanguage('Un chien brun court après une balle rouge dans le parc.'), 'fr');
  assert.equal(detectLanguage('A brown dog chases a red ball in the park.'), 'en');
  assert.equal(detectLanguage('Red ball.'), undefined, 'too short to judge');
  const unsafe = new UnsafeWords(['gore', 'blood bath']);
  assert.equal(unsafe.find('A bunch of grapes and a gorilla.'), undefined);
  assert.equal(unsafe.find('Scenes of gore.'), 'gore');
  assert.equal(unsafe.find('It was a blood bath.'), 'blood bath');
  assert.throws(() => FilterConfigSchema.parse({ unsafeWords: ['gore', 'image'] }), /name the medium/);
});

test('the chain drops bad turns, keeps the rest, and counts every removal by filter', () => {
  const chain = new FilterChain(config({ maxAnswerWords: 30 }));
  const kept = chain.apply(
    draft([
      ['What is the dog doing?', 'The dog chases a ball in the park.'],
      ['What breed is the dog?', 'The breed cannot be determined from the picture.'],
      ['Who is holding the leash?', 'A woman in a hat is holding the leash.'],
      ['What is on the grass?', "Un ballon rouge est posé sur l'herbe verte du parc."],
      ['Describe the park.', `The park ${'is very green and '.repeat(10)}nice.`],
      ['What is the dog doing now?', 'The dog chases the ball across the grass.'],
    ]),
    known,
    'g1',
  );
  assert.deepEqual(
    kept?.turns.map((t) => t.question),
    ['What is the dog doing?'],
  );
  const stats = chain.stats();
  assert.deepEqual(stats.removed.hedging, { samples: 0, turns: 1 });
  assert.deepEqual(
    stats.removed.ungrounded,
    { samples: 0, turns: 1 },
    'woman, hat and leash are not in the captions',
  );
  assert.deepEqual(stats.removed.language, { samples: 0, turns: 1 });
  assert.deepEqual(stats.removed.too_long, { samples: 0, turns: 1 });
  assert.deepEqual(stats.removed.similar_instruction, { samples: 0, turns: 1 });
  assert.deepEqual(stats.considered, { samples: 1, turns: 6 });
  assert.deepEqual(stats.kept, { samples: 1, turns: 1 });
});

test('duplicates: exact and near copies are dropped within a media group, or across the dataset in dataset scope', () => {
  const text: [string, string][] = [
    ['What is in the park?', 'A brown dog chases a red ball across the green grass of the park.'],
  ];
  const nearText: [string, string][] = [
    ['What is in the park?', 'A brown dog chases a red ball across the green grass of the big park.'],
  ];
  const media = new FilterChain(config());
  assert.ok(media.apply(draft(text), known, 'g1'));
  assert.equal(media.apply(draft(text), known, 'g1'), undefined);
  assert.equal(media.apply(draft(nearText), known, 'g1'), undefined);
  assert.ok(media.apply(draft(text), known, 'g2'), 'another image may share a caption');
  assert.deepEqual(media.stats().removed.exact_duplicate, { samples: 1, turns: 0 });
  assert.deepEqual(media.stats().removed.near_duplicate, { samples: 1, turns: 0 });

  const dataset = new FilterChain(config({ duplicateScope: 'dataset' }));
  assert.ok(dataset.apply(draft(text), known, 'g1'));
  assert.equal(dataset.apply(draft(nearText), known, 'g2'), undefined);
});

test('dataset-scope instruction novelty spares pooled instructions and remembers stored samples', () => {
  const chain = new FilterChain(config({ instructionScope: 'dataset' }));
  assert.ok(chain.apply(draft([['How many balls are on the grass?', 'There are two balls.']]), known, 'g1'));
  assert.equal(
    chain.apply(draft([['How many balls are on the grass here?', 'There is one ball.']]), known, 'g2'),
    undefined,
  );
  assert.deepEqual(chain.stats().removed.similar_instruction, { samples: 1, turns: 1 });
  const pooled = draft([['Describe the image in detail.', 'A dog and a ball.']], true);
  assert.ok(chain.apply(pooled, known, 'g3'));
  assert.ok(
    chain.apply({ ...pooled, turns: [{ ...pooled.turns[0], answer: 'A dog in the park.' }] }, known, 'g4'),
  );

  const resumed = new FilterChain(config({ instructionScope: 'dataset' }));
  resumed.remember(
    {
      id: 'x',
      image: 'k',
      kind: 'conversation',
      itemId: 'i_0000000000000000000001',
      modality: 'image',
      split: 'train',
      generator: 'template',
      conversations: [
        { from: 'human', value: '<image>\nHow many balls are on the grass?' },
        { from: 'gpt', value: 'There are two balls.' },
      ],
    },
    'g1',
  );
  assert.equal(
    resumed.apply(draft([['How many balls are on the grass here?', 'There is one ball.']]), known, 'g2'),
    undefined,
  );
  assert.equal(resumed.stats().considered.samples, 1, 'remembered samples are not counted again');
});
