import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  buildForwardGraph,
  languageModelFromCheckpoint,
  loadTokenizer,
  openCheckpointFolder,
} from '@mmit/models';
import { createSession } from '@mmit/tensor';
import { type LmSequence, padBatch, pretrainTinyLm } from './lm-pretrain.js';
import { initTinyLm, writeTinyLmCheckpoint } from './tiny-lm.js';
import { SPECIAL_TOKENS, wordVocabulary, writeWordTokenizer } from './word-tokenizer.js';

const texts = [
  'A red circle at the top left.',
  'What colour is the shape at the top left?',
  'red',
  'blue',
  'A blue star in the center.',
];

function tokenizerDir() {
  const dir = mkdtempSync(join(tmpdir(), 'mmit-proof-lm-'));
  writeWordTokenizer(dir, wordVocabulary(texts));
  return dir;
}

test('the word tokenizer: one id per word, specials kept whole, decoding joins words', () => {
  const tokenizer = loadTokenizer(tokenizerDir());
  const ids = tokenizer.encode('<image>\nWhat colour is the shape at the top left?', {
    addSpecialTokens: false,
  });
  assert.equal(ids[0], SPECIAL_TOKENS.indexOf('<image>'));
  assert.equal(ids.length, 1 + 10); // 9 words and '?'
  assert.equal(tokenizer.decode(tokenizer.encode('top left', { addSpecialTokens: false })), 'top left');
  assert.equal(tokenizer.eosTokenId, SPECIAL_TOKENS.indexOf('<|im_end|>'));
  assert.match(
    tokenizer.renderChat([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true }),
    /<\|im_start\|>assistant\n$/,
  );
});

/** A text-only sequence (no media positions), every token a target. */
function textSequence(tokenizer: ReturnType<typeof loadTokenizer>, user: string, answer: string): LmSequence {
  const text = tokenizer.renderChat([
    { role: 'user', content: user },
    { role: 'assistant', content: answer },
  ]);
  const ids = tokenizer.encode(text, { addSpecialTokens: false });
  return { ids, labels: ids, slots: ids.map(() => []), media: ids.map(() => false) };
}

test('a checkpoint written from our weights loads through @mmit/models and gives the same loss as training', async () => {
  const dir = tokenizerDir();
  const tokenizer = loadTokenizer(dir);
  const sizes = {
    vocabSize: wordVocabulary(texts).length,
    hiddenSize: 32,
    intermediateSize: 64,
    numLayers: 2,
    numHeads: 2,
  };
  const tokens = { eosTokenId: tokenizer.eosTokenId!, padTokenId: tokenizer.padTokenId! };
  const sequences = [
    textSequence(tokenizer, 'A blue star in the center.\nWhat colour is the shape at the top left?', 'blue'),
  ];
  const trained = await pretrainTinyLm({
    sizes,
    tokens,
    sequences,
    steps: 30,
    batchSize: 1,
    lr: 1e-2,
    seed: 3,
  });
  assert.ok(trained.losses[29] < trained.losses[0] / 4, `loss ${trained.losses[0]} -> ${trained.losses[29]}`);
  // Every weight moved: the gradient reached the embeddings, norms and all linears.
  const start = initTinyLm(sizes, 3);
  for (const [name, values] of Object.entries(trained.weights)) {
    assert.ok(
      values.some((v, i) => v !== start[name][i]),
      `${name} never changed`,
    );
  }
  writeTinyLmCheckpoint(dir, sizes, tokens, trained.weights);
  const lm = languageModelFromCheckpoint(openCheckpointFolder(dir));
  assert.equal(lm.config.numLayers, 2);
  const session = await createSession(buildForwardGraph(lm, { input: 'ids', loss: true }), { cache: false });
  const { input_ids, attention_mask, position_ids, labels } = padBatch(sequences, tokens.padTokenId);
  const out = await session.run({ input_ids, attention_mask, position_ids, labels });
  // Without media positions the slot inputs add nothing: the plain forward graph of the written
  // checkpoint gives the training graph's loss on the final weights (below the last step's, taken
  // before its update).
  assert.ok((out.loss.data as Float32Array)[0] <= trained.losses[29] * 1.5);
  assert.ok((out.loss.data as Float32Array)[0] < 0.5);
  await session.release();
});
