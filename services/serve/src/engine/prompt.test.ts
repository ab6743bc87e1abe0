// A served prompt is laid out by the trainer's template code: wherever the client puts the image in
// its message, the ids are those of the sample layout the run learned from (`<image>\n` first).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadTokenizer } from '@mmit/models';
import { chatMessages } from '@mmit/train';
import { fixture } from '../../../../test/paths.js';
import type { ResolvedMedia, Turn } from './conversation.js';
import { chatPromptIds } from './prompt.js';

const tokenizer = loadTokenizer(fixture('tiny-llama'));
const image: ResolvedMedia = { kind: 'image', bytes: new Uint8Array(), param: 'messages.0.content.1' };
const format = { template: 'chat', mediaToken: '<image>' } as const;

test('the image goes in front of the text, as in training, whatever order the client sent', () => {
  const question = 'What colour is the square?';
  const trained = tokenizer.encode(
    tokenizer.renderChat(chatMessages([{ from: 'human', value: question }], '<image>'), {
      addGenerationPrompt: true,
    }),
    { addSpecialTokens: false },
  );
  const textFirst: Turn[] = [
    {
      role: 'user',
      pieces: [
        { type: 'text', text: question },
        { type: 'media', media: image },
      ],
    },
  ];
  const imageFirst: Turn[] = [
    {
      role: 'user',
      pieces: [
        { type: 'media', media: image },
        { type: 'text', text: question },
      ],
    },
  ];
  assert.deepEqual(chatPromptIds(tokenizer, textFirst, format).ids, trained);
  assert.deepEqual(chatPromptIds(tokenizer, imageFirst, format).ids, trained);
});

test('a media token typed as text claims no feature rows', () => {
  const typed: Turn[] = [{ role: 'user', pieces: [{ type: 'text', text: 'look: <image> here' }] }];
  const { ids, media } = chatPromptIds(tokenizer, typed, format);
  assert.equal(media.length, 0);
  assert.ok(!ids.includes(tokenizer.tokenId('<image>')));
});
