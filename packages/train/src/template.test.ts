// Templates on the fixture tokenizer (ChatML, byte-level BPE): the chat template's labels cover
// exactly the assistant turns (checked on a rendered example), plain is LLaVA's stage-1 layout,
// and truncation keeps or drops samples as documented.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadTokenizer } from '@mmit/models';
import { fixture } from '../../../test/paths.js';
import { encodeChat, encodePlain, IGNORE, type Turn, truncate } from './template.js';

const tokenizer = loadTokenizer(fixture('tokenizer'));
const imageTokenId = tokenizer.tokenId('<image>');
const options = { imageToken: '<image>', imageTokenId, imageRows: 3 };
const turns: Turn[] = [
  { from: 'human', value: '<image>\nWhat is in the picture?' },
  { from: 'gpt', value: 'A cat on a mat.' },
  { from: 'human', value: 'What colour is it?' },
  { from: 'gpt', value: 'It is red.' },
];

/** The labelled runs of tokens, decoded. */
function labelledTexts(labels: number[]): string[] {
  const runs: number[][] = [];
  let current: number[] | null = null;
  for (const l of labels) {
    if (l === IGNORE) current = null;
    else {
      if (!current) {
        current = [];
        runs.push(current);
      }
      current.push(l);
    }
  }
  return runs.map((r) => tokenizer.decode(r));
}

test('chat: the rendered conversation is the input, and exactly the assistant turns (with <|im_end|>) are labelled', () => {
  const encoded = encodeChat(tokenizer, turns, options);
  const rendered = tokenizer.renderChat([
    { role: 'user', content: '<image>\nWhat is in the picture?' },
    { role: 'assistant', content: 'A cat on a mat.' },
    { role: 'user', content: 'What colour is it?' },
    { role: 'assistant', content: 'It is red.' },
  ]);
  // Collapse the expanded image block back to one token: the rest is the rendered text's tokens.
  const collapsed = encoded.inputIds.filter(
    (id, i) => id !== imageTokenId || encoded.inputIds[i - 1] !== imageTokenId,
  );
  assert.deepEqual(collapsed, tokenizer.encode(rendered, { addSpecialTokens: false }));
  assert.equal(encoded.inputIds.filter((id) => id === imageTokenId).length, 3);
  assert.deepEqual(labelledTexts(encoded.labels), ['A cat on a mat.<|im_end|>', 'It is red.<|im_end|>']);
  encoded.labels.forEach((l, i) => {
    if (l !== IGNORE) assert.equal(l, encoded.inputIds[i]);
  });
});

test('chat: an image token missing from the text is put at the front of the first human turn', () => {
  const encoded = encodeChat(
    tokenizer,
    [
      { from: 'human', value: 'Describe.' },
      { from: 'gpt', value: 'Blue.' },
    ],
    options,
  );
  const firstImage = encoded.inputIds.indexOf(imageTokenId);
  assert.ok(firstImage > 0);
  assert.equal(tokenizer.decode(encoded.inputIds.slice(0, firstImage)), '<|im_start|>user\n');
});

test('plain: image tokens alone, then the caption and a newline; loss on caption + newline only', () => {
  const encoded = encodePlain(tokenizer, turns, options);
  const caption = tokenizer.encode('A cat on a mat.\n', { addSpecialTokens: false });
  const bos = tokenizer.encode('', { addSpecialTokens: true });
  assert.deepEqual(encoded.inputIds, [...bos, imageTokenId, imageTokenId, imageTokenId, ...caption]);
  assert.deepEqual(encoded.labels, [...bos.map(() => IGNORE), IGNORE, IGNORE, IGNORE, ...caption]);
  assert.deepEqual(labelledTexts(encoded.labels), ['A cat on a mat.\n']);
});

test('truncate: cuts from the right and counts; drops a sample whose image or labels do not fit', () => {
  const sample = { inputIds: [3, 3, 10, 11, 12], labels: [IGNORE, IGNORE, 10, 11, 12] };
  assert.deepEqual(truncate(sample, 5, 3), { sample, truncated: false });
  const cut = truncate(sample, 4, 3);
  assert.ok(cut.sample && 'truncated' in cut && cut.truncated);
  assert.deepEqual(cut.sample.inputIds, [3, 3, 10, 11]);
  const noImage = truncate(sample, 1, 3);
  assert.equal(noImage.sample, null);
  assert.match((noImage as { reason: string }).reason, /image tokens do not fit/);
  const noLabels = truncate({ inputIds: [3, 10, 11], labels: [IGNORE, IGNORE, 11] }, 2, 3);
  assert.match((noLabels as { reason: string }).reason, /no labelled token/);
});
