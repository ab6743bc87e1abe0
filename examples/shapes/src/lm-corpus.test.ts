import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTokenizer } from '@mmit/models';
import { briefPool } from '@mmit/synth';
import { planTask } from './generate.js';
import {
  encodeForPretraining,
  humanTurn,
  MEDIA_ROWS,
  MEDIA_TOKEN,
  pretrainExamples,
  slotWordsOf,
} from './lm-corpus.js';
import { allClipQuestions, allSceneQuestions, FORMAT_PROMPT } from './questions.js';
import { AUDIO_ROWS, clipSlots, EMPTY_CELL, IMAGE_ROWS, SECONDS_PER_FRAME, sceneSlots } from './slots.js';
import { wordVocabulary, writeWordTokenizer } from './word-tokenizer.js';

const plan = planTask({ seed: 3, train: 40, test: 10 });

test('a picture is nine slot rows in raster order: the place words, then colour and shape', () => {
  const rows = sceneSlots({
    background: 'light grey',
    noise: 0,
    shapes: [
      { shape: 'star', colour: 'green', row: 0, column: 2, size: 0.12 },
      { shape: 'circle', colour: 'red', row: 1, column: 1, size: 0.12 },
    ],
  });
  assert.equal(rows.length, IMAGE_ROWS);
  assert.deepEqual(rows[2], ['top', 'right', 'green', 'star']);
  assert.deepEqual(rows[4], ['center', 'red', 'circle']);
  // Empty cells, named places or not, hold the empty word and what they show: the background.
  for (const k of [0, 1, 3, 5, 6, 7, 8])
    assert.deepEqual(rows[k], [EMPTY_CELL, 'light', 'grey'], `cell ${k}`);
});

test('a clip is one slot row per encoder frame: the pitch sounding at its centre', () => {
  const clip = {
    sampleRate: 16_000,
    durationSec: 2,
    beeps: [
      { pitch: 'high' as const, startSec: 0.2, durationSec: 0.25 },
      { pitch: 'low' as const, startSec: 0.8, durationSec: 0.25 },
    ],
  };
  const rows = clipSlots(clip);
  assert.equal(rows.length, AUDIO_ROWS);
  rows.forEach((row, t) => {
    const centre = (t + 0.5) * SECONDS_PER_FRAME;
    const expected =
      centre >= 0.2 && centre < 0.45 ? ['high'] : centre >= 0.8 && centre < 1.05 ? ['low'] : [];
    assert.deepEqual(row, expected, `frame ${t} (${centre.toFixed(2)} s)`);
  });
  assert.ok(rows.filter((r) => r.length > 0).length >= 4);
});

test('pretraining reads training items only, and every answer is the ground truth of its item', () => {
  const examples = pretrainExamples(plan);
  assert.ok(examples.length > 0);
  for (const { item, question } of examples) {
    assert.equal(item.split, 'train');
    const truth = item.scene ? allSceneQuestions(item.scene) : allClipQuestions(item.clip!);
    const known = truth.find((t) => t.question === question.question);
    // Synth may ask more than the task's answer key does (e.g. "How many triangles are there?").
    if (known) assert.equal(question.answer, known.answer, `${item.name}: ${question.question}`);
  }
  const types = new Set(examples.map((e) => e.question.question.split(' ').slice(0, 2).join(' ')));
  for (const opening of ['What color', 'What is', 'How many', 'Where is'])
    assert.ok(types.has(opening), opening);
});

test('a pretraining sequence puts slot rows at the media positions; targets are the answer (or every text token)', () => {
  const examples = pretrainExamples(plan);
  const dir = mkdtempSync(join(tmpdir(), 'mmit-proof-corpus-'));
  writeWordTokenizer(
    dir,
    wordVocabulary([
      ...examples.flatMap((e) => [e.question.question, e.question.answer]),
      ...plan.items.flatMap((i) => slotWordsOf(i).map((r) => r.join(' '))),
      FORMAT_PROMPT,
    ]),
  );
  const tokenizer = loadTokenizer(dir);
  for (const example of [examples[0], examples.find((e) => e.item.kind === 'audio')!]) {
    const seq = encodeForPretraining(tokenizer, example);
    const kind = example.item.kind;
    const mediaAt = seq.media.flatMap((m, i) => (m ? [i] : []));
    assert.equal(mediaAt.length, MEDIA_ROWS[kind]);
    assert.equal(mediaAt.at(-1)! - mediaAt[0] + 1, mediaAt.length, 'media positions are contiguous');
    const expected = slotWordsOf(example.item).map((r) => r.map((w) => tokenizer.tokenId(w)));
    assert.deepEqual(
      mediaAt.map((i) => seq.slots[i]),
      expected,
    );
    seq.ids.forEach((_, i) => {
      if (!seq.media[i]) assert.deepEqual(seq.slots[i], []);
    });
    const targets = seq.ids.filter((_, i) => seq.labels[i] !== -100);
    const answer = tokenizer.encode(example.question.answer, { addSpecialTokens: false });
    assert.deepEqual(targets, [...answer, tokenizer.eosTokenId]);
    const all = encodeForPretraining(tokenizer, example, true);
    all.ids.forEach((id, i) => {
      assert.equal(all.labels[i], all.media[i] ? -100 : id);
    });
    const text = tokenizer.decode(seq.ids.filter((_, i) => !seq.media[i]));
    assert.ok(
      text.includes(example.question.question.toLowerCase().replace('?', ' ?')) ||
        text.includes(example.question.question.toLowerCase()),
      text,
    );
    assert.ok(
      text.includes(FORMAT_PROMPT.toLowerCase().replace('.', ' .')) ||
        text.includes(FORMAT_PROMPT.toLowerCase()),
      text,
    );
  }
});

test('every caption of a training item is also a brief description, named in reading order', () => {
  const examples = pretrainExamples(plan);
  for (const item of plan.items.filter((i) => i.split === 'train')) {
    const briefs = examples.filter((e) => e.item === item && e.sample === 'brief');
    assert.deepEqual(
      briefs.map((e) => e.question.answer),
      item.captions,
      item.name,
    );
    for (const e of briefs) {
      assert.ok(briefPool(item.kind).includes(e.question.question), e.question.question);
      assert.equal(humanTurn(e), `${MEDIA_TOKEN[item.kind]}\n${e.question.question}`);
    }
  }
  // The first caption lists the shapes as a reader meets them: top row first, left to right.
  const many = plan.items.find((i) => (i.scene?.shapes.length ?? 0) === 3)!;
  const order = [...many.scene!.shapes]
    .sort((a, b) => a.row - b.row || a.column - b.column)
    .map((s) => `${s.colour} ${s.shape}`);
  const at = order.map((phrase) => many.captions[0].indexOf(phrase));
  assert.ok(
    at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1])),
    `${many.captions[0]} vs ${order.join(', ')}`,
  );
});
