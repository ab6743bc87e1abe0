// Property tests (fast-check) over the chat request parser: the body schema, then the messages
// turned into turns (media parts fetched and decoded). Whatever JSON a client sends, the parser
// either accepts it or throws an error the /v1 error mapping answers with a 4xx, never a 500:
// wrong types, unknown roles and parts, bad base64, bad or oversized media, refused URLs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TRAVERSAL_SPELLINGS } from '@mmit/contracts';
import fc from 'fast-check';
import sharp from 'sharp';
import { PromptError } from '../engine/conversation.js';
import { toOpenAIError } from './errors.js';
import { toTurns } from './messages.js';
import { ChatCompletionRequestSchema } from './schemas.js';

const RUNS = Number(process.env.MMIT_PROPERTY_RUNS ?? 200);

const limits = {
  maxImageBytes: 64 * 1024,
  maxImagePixels: 1_000_000,
  maxAudioBytes: 64 * 1024,
  maxAudioSeconds: 5,
  maxItems: 4,
  remote: { allow: false, allowedHosts: [], allowPrivate: false, maxBytes: 64 * 1024, timeoutMs: 1000 },
};

/** Parses and resolves a body as the chat route does; returns the HTTP status of any refusal. */
async function statusOf(raw: unknown): Promise<number> {
  try {
    const body = ChatCompletionRequestSchema.parse(raw);
    await toTurns(body.messages, { bucket: null, limits });
    return 200;
  } catch (err) {
    return toOpenAIError(err, { retryAfterSec: 1 }).status;
  }
}

const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } })
  .png()
  .toBuffer();
const huge = await sharp({ create: { width: 2000, height: 2000, channels: 3, background: '#000' } })
  .png()
  .toBuffer();

const url = fc.oneof(
  fc.string(),
  fc.base64String().map((b) => `data:image/png;base64,${b}`),
  fc.constantFrom(
    `data:image/png;base64,${png.toString('base64')}`,
    `data:image/png;base64,${huge.toString('base64')}`,
    'data:image/png,notbase64',
    'data:;base64,@@@',
    'http://127.0.0.1/x.png',
    'https://[64:ff9b::7f00:1]/x.png',
    'file:///etc/passwd',
    's3://other/media/x.jpg',
    'media/../corpora/x',
    'media/sha256/ab/x.jpg',
  ),
);
const part = fc.oneof(
  fc.record({ type: fc.constant('text'), text: fc.oneof(fc.string(), fc.jsonValue()) }),
  fc.record({
    type: fc.constant('image_url'),
    image_url: fc.oneof(
      fc.record({ url, detail: fc.constantFrom('auto', 'low', 'high', 'ultra') }, { requiredKeys: ['url'] }),
      fc.jsonValue(),
    ),
  }),
  fc.record({
    type: fc.constant('input_audio'),
    input_audio: fc.record(
      {
        data: fc.oneof(fc.base64String(), fc.string()),
        format: fc.constantFrom('wav', 'mp3', 'flac', 'ogg'),
      },
      { requiredKeys: [] },
    ),
  }),
  fc.record({ type: fc.string() }),
  fc.jsonValue(),
);
const message = fc.record(
  {
    role: fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool', 'function'),
    content: fc.oneof(fc.string(), fc.array(part, { maxLength: 6 }), fc.constant(null), fc.jsonValue()),
    name: fc.oneof(fc.string(), fc.integer()),
  },
  { requiredKeys: ['role'] },
);
const body = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      model: fc.oneof(fc.string(), fc.jsonValue()),
      messages: fc.oneof(fc.array(message, { maxLength: 6 }), fc.jsonValue()),
      max_tokens: fc.oneof(fc.integer(), fc.double(), fc.constant(null)),
      temperature: fc.oneof(fc.double(), fc.string()),
      stop: fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 6 }), fc.constant(null)),
      n: fc.integer(),
      tools: fc.array(fc.jsonValue(), { maxLength: 2 }),
    },
    { requiredKeys: ['messages'] },
  ),
);

/** Bodies the schema accepts, so the media path behind it is exercised as often as the schema. */
const validPart = fc.oneof(
  fc.record({ type: fc.constant('text'), text: fc.string() }),
  fc.record({
    type: fc.constant('image_url'),
    image_url: fc.record({ url: url.filter((u) => u.length > 0) }),
  }),
  fc.record({
    type: fc.constant('input_audio'),
    input_audio: fc.record({
      data: fc.base64String({ minLength: 4 }),
      format: fc.constantFrom('wav', 'mp3', 'flac'),
    }),
  }),
);
const validBody = fc.record({
  model: fc.constant('m'),
  messages: fc.array(
    fc.record({
      role: fc.constantFrom('system', 'developer', 'user', 'assistant'),
      content: fc.oneof(fc.string(), fc.array(validPart, { minLength: 1, maxLength: 5 }), fc.constant(null)),
    }),
    { minLength: 1, maxLength: 4 },
  ),
});

test('any chat request body is accepted or refused with a 4xx', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(body, validBody), async (raw) => {
      const status = await statusOf(raw);
      assert.ok(
        status === 200 || (status >= 400 && status < 500),
        `answered ${status} to ${JSON.stringify(raw).slice(0, 300)}`,
      );
    }),
    { numRuns: RUNS },
  );
});

test('the parser refuses what it must: a refused URL, a bomb, bad base64, too many images', async () => {
  const user = (content: unknown) => ({ model: 'm', messages: [{ role: 'user', content }] });
  const image = (u: string) => ({ type: 'image_url', image_url: { url: u } });
  assert.equal(await statusOf(user([image(`data:image/png;base64,${png.toString('base64')}`)])), 200);
  assert.equal(await statusOf(user([image('http://127.0.0.1/x.png')])), 400);
  assert.equal(await statusOf(user([image(`data:image/png;base64,${huge.toString('base64')}`)])), 413);
  assert.equal(await statusOf(user([image('data:image/png;base64,@@@@')])), 400);
  assert.equal(
    await statusOf(user(Array.from({ length: 5 }, () => image('data:image/png;base64,AAAA')))),
    400,
  );
});

test('image keys fed the traversal spellings are refused before the bucket is asked', async () => {
  for (const spelling of TRAVERSAL_SPELLINGS) {
    for (const key of [`media/${spelling}`, `media/sha256/ab/${spelling}`, `s3://mmit/media/${spelling}`]) {
      await assert.rejects(
        toTurns([{ role: 'user', content: [{ type: 'image_url', image_url: { url: key } }] }], {
          bucket: null,
          limits,
        }),
        (err: unknown) =>
          err instanceof PromptError &&
          err.code === 'invalid_image_url' &&
          /content-addressed|only objects in bucket/.test(err.message),
        key,
      );
    }
  }
});
