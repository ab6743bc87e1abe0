import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixturesDir } from '../../../test/paths.js';
import { loadTokenizer } from './tokenizer.js';

const reference = JSON.parse(readFileSync(join(fixturesDir, 'case_tokenizer.json'), 'utf8')) as {
  texts: string[];
  ids: number[][];
  chat: { role: string; content: string }[];
  chat_rendered: string;
  chat_ids: number[];
};

test('ids match Hugging Face for every fixture text', () => {
  const tokenizer = loadTokenizer(join(fixturesDir, 'tokenizer'));
  reference.texts.forEach((text, i) => {
    assert.deepEqual(tokenizer.encode(text), reference.ids[i], `text ${i}`);
  });
});

test('chat template comes from chat_template.jinja and renders as in transformers', () => {
  const tokenizer = loadTokenizer(join(fixturesDir, 'tokenizer'));
  assert.ok(tokenizer.chatTemplate?.includes('<|im_start|>'));
  const rendered = tokenizer.renderChat(reference.chat);
  assert.equal(rendered, reference.chat_rendered);
  assert.deepEqual(tokenizer.encode(rendered), reference.chat_ids);
  assert.ok(
    tokenizer.renderChat(reference.chat, { addGenerationPrompt: true }).endsWith('<|im_start|>assistant\n'),
  );
});

test('special tokens and decoding', () => {
  const tokenizer = loadTokenizer(join(fixturesDir, 'tiny-llama'));
  assert.equal(tokenizer.tokenId('<image>'), 3);
  assert.equal(tokenizer.eosTokenId, 2);
  assert.equal(tokenizer.padTokenId, 5);
  assert.equal(tokenizer.decode(tokenizer.encode(reference.texts[0])), reference.texts[0]);
  assert.throws(() => tokenizer.tokenId('<video>'), /<video>/);
  assert.equal(tokenizer.decode([]), '');
  assert.equal(tokenizer.decode([], { skipSpecialTokens: true }), '');
});
