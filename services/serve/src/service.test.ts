// The serve service end to end, called the way users call it: through the official `openai`
// client, against a real embedded S3 server holding "finished runs" in the trainer's layout over
// the hf-tiny checkpoints. Greedy answers are checked token for token against @mmit/models'
// own generate (text) and against an independently assembled LLaVA prompt (image).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createGenerator } from '@mmit/inference';
import { encodeWav, normalizeAudio, normalizeImage } from '@mmit/media';
import {
  applyProjector,
  clipImageFeatures,
  languageModelFromCheckpoint,
  loadCheckpoint,
  loadImageProcessor,
  loadTokenizer,
  preprocessImages,
  type Tokenizer,
} from '@mmit/models';
import { createSession, Graph, type HostTensor } from '@mmit/tensor';
import OpenAI, { APIError } from 'openai';
import sharp from 'sharp';
import { fixturesDir, repoRoot } from '../../../test/paths.js';
import { writeFixtureRun } from './testing/fixture-runs.js';
import { type ServeHarness, startServeHarness } from './testing/harness.js';
import { postHeadOnly } from './testing/head-only.js';

const llamaDir = join(fixturesDir, 'tiny-llama');
const qwenDir = join(fixturesDir, 'tiny-qwen2');
const clipDir = join(fixturesDir, 'tiny-clip-vision');
const whisperDir = join(fixturesDir, 'tiny-whisper');
const png = readFileSync(join(fixturesDir, 'case_clip_image.png'));
const dataUri = (bytes: Buffer, mime = 'image/png') => `data:${mime};base64,${bytes.toString('base64')}`;

function client(url: string): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
}

async function expectError(promise: Promise<unknown>, status: number, code?: string): Promise<APIError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof APIError, `expected an APIError, got ${err}`);
    assert.equal(err.status, status, err.message);
    if (code) assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected HTTP ${status}`);
}

/** The text the server should send for generated ids: EOS dropped, specials skipped. */
function expectedText(tokenizer: Tokenizer, ids: number[], eos: number): string {
  return tokenizer.decode(ids.at(-1) === eos ? ids.slice(0, -1) : ids, { skipSpecialTokens: true });
}

describe('serve service (openai client)', () => {
  let harness: ServeHarness;
  let openai: OpenAI;
  let imageRun: { id: string; projector: Record<string, HostTensor<'float32'>> };
  let audioRun: { id: string };
  let tokenizer: Tokenizer;

  before(async () => {
    harness = await startServeHarness({
      MMIT_SERVE_BASE_MODELS: `tiny-llama=${llamaDir}`,
      MMIT_SERVE_MAX_IMAGES: '40',
      MMIT_SERVE_MAX_IMAGE_BYTES: String(200 * 1024),
      MMIT_SERVE_BODY_LIMIT: '2mb',
      MMIT_SERVE_MAX_TOKENS: '500',
    });
    openai = client(harness.url);
    imageRun = await writeFixtureRun(harness.bucket, {
      lm: llamaDir,
      encoder: clipDir,
      featureDim: 64,
      hiddenSize: 64,
      seed: 1,
    });
    audioRun = await writeFixtureRun(harness.bucket, {
      lm: qwenDir,
      encoder: whisperDir,
      featureDim: 64,
      hiddenSize: 64,
      seed: 2,
    });
    tokenizer = loadTokenizer(llamaDir);
  });
  after(() => harness.close());

  it('lists the base model and every finished run', async () => {
    const ids = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    assert.deepEqual(new Set(ids), new Set(['tiny-llama', imageRun.id, audioRun.id]));
    assert.equal((await openai.models.retrieve(imageRun.id)).id, imageRun.id);
  });

  it("answers a text chat greedily with exactly the tokens of the engine's own generate", async () => {
    const messages = [
      { role: 'system' as const, content: 'You are terse.' },
      { role: 'user' as const, content: 'Name a colour.' },
    ];
    const answer = await openai.chat.completions.create({
      model: 'tiny-llama',
      messages,
      max_tokens: 24,
      temperature: 0,
    });
    const promptIds = tokenizer.encode(tokenizer.renderChat(messages, { addGenerationPrompt: true }), {
      addSpecialTokens: false,
    });
    const lm = languageModelFromCheckpoint(await loadCheckpoint(llamaDir));
    const [reference] = await createGenerator(lm).generate([promptIds], { maxNewTokens: 24 });
    assert.equal(answer.choices[0].message.content, expectedText(tokenizer, reference, 2));
    assert.deepEqual(answer.usage, {
      prompt_tokens: promptIds.length,
      completion_tokens: reference.length,
      total_tokens: promptIds.length + reference.length,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    assert.equal(answer.choices[0].finish_reason, reference.at(-1) === 2 ? 'stop' : 'length');
  });

  it('answers plain completions like the engine too', async () => {
    const prompt = 'The quick brown fox';
    const answer = await openai.completions.create({
      model: 'tiny-llama',
      prompt,
      max_tokens: 16,
      temperature: 0,
    });
    const ids = tokenizer.encode(prompt, { addSpecialTokens: true });
    const lm = languageModelFromCheckpoint(await loadCheckpoint(llamaDir));
    const [reference] = await createGenerator(lm).generate([ids], { maxNewTokens: 16 });
    assert.equal(answer.choices[0].text, expectedText(tokenizer, reference, 2));
    assert.equal(answer.usage?.completion_tokens, reference.length);
  });

  it('answers about an image: encoder -> projector -> LM matches an independently built LLaVA prompt', async () => {
    const question = 'What is in the picture?';
    const answer = await openai.chat.completions.create({
      model: imageRun.id,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: dataUri(png) } },
            { type: 'text', text: question },
          ],
        },
      ],
      max_tokens: 20,
      temperature: 0,
    });
    // Reference: the run's projector over the tower's layer -2 patch features of the normalised image,
    // spliced in place of the one <image> id of the rendered chat, then @mmit/models' generate.
    const pixels = await preprocessImages([(await normalizeImage(png)).bytes], loadImageProcessor(clipDir));
    const features = await clipImageFeatures(clipDir, pixels); // (1, 16, 64)
    const g = new Graph('reference-projector');
    const input = g.input('features', 'float32', features.dims);
    const params = Object.fromEntries(
      Object.entries(imageRun.projector).map(([n, t]) => [n, g.initializer(n, t)]),
    );
    g.output('rows', applyProjector({ type: 'mlp2x_gelu', inputDim: 64, outputDim: 64 }, params, input));
    const rows = (await (await createSession(g, { cache: false })).run({ features })).rows
      .data as Float32Array;
    const text = tokenizer.renderChat([{ role: 'user', content: `<image>\n${question}` }], {
      addGenerationPrompt: true,
    });
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    const imageAt = ids.indexOf(tokenizer.tokenId('<image>'));
    const generator = createGenerator(languageModelFromCheckpoint(await loadCheckpoint(llamaDir)));
    const tokens = (
      await generator.embed({ dtype: 'int32', dims: [1, ids.length], data: Int32Array.from(ids) })
    ).data as Float32Array;
    const length = ids.length - 1 + 16;
    const embeds = new Float32Array(length * 64);
    embeds.set(tokens.subarray(0, imageAt * 64));
    embeds.set(rows, imageAt * 64);
    embeds.set(tokens.subarray((imageAt + 1) * 64), (imageAt + 16) * 64);
    const [reference] = await generator.generateFromEmbeds(
      { dtype: 'float32', dims: [1, length, 64], data: embeds },
      { dtype: 'int32', dims: [1, length], data: new Int32Array(length).fill(1) },
      { maxNewTokens: 20 },
    );
    assert.equal(answer.usage?.prompt_tokens, length);
    assert.equal(answer.choices[0].message.content, expectedText(tokenizer, reference, 2));
  });

  it('streams the same greedy answer it gives without streaming, then [DONE] with usage', async () => {
    const request = {
      model: imageRun.id,
      messages: [
        {
          role: 'user' as const,
          content: [
            { type: 'image_url' as const, image_url: { url: dataUri(png) } },
            { type: 'text' as const, text: 'Describe it.' },
          ],
        },
      ],
      max_tokens: 30,
      temperature: 0,
    };
    const whole = await openai.chat.completions.create(request);
    const stream = await openai.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    let usageNulls = 0;
    for await (const chunk of stream) {
      chunks++;
      assert.equal(chunk.system_fingerprint, whole.system_fingerprint);
      if (chunk.usage) usage = chunk.usage;
      else if (chunk.usage === null) usageNulls++;
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? '';
        finish = choice.finish_reason ?? finish;
      }
    }
    assert.ok(chunks > 3, `${chunks} chunks`);
    assert.match(whole.system_fingerprint ?? '', /^fp_[0-9a-f]{10}$/);
    assert.equal(usageNulls, chunks - 1, 'every chunk before the usage chunk says usage: null');
    await assert.rejects(
      openai.chat.completions.create({ ...request, stream_options: { include_usage: true } }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'stream_options',
    );
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(finish, whole.choices[0].finish_reason);
    assert.deepEqual(usage, whole.usage);
  });

  it("takes audio (wav and flac) through Whisper and the run's projector", async () => {
    const pcm = Float32Array.from(
      { length: 16_000 },
      (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 16_000),
    );
    const wav = Buffer.from(encodeWav(pcm, 16_000, 'pcm16'));
    const ask = (data: Buffer, format: 'wav' | 'flac') =>
      openai.chat.completions.create({
        model: audioRun.id,
        messages: [
          {
            role: 'user' as const,
            content: [
              // The client's types list wav and mp3 only; the server takes flac as well.
              {
                type: 'input_audio' as const,
                input_audio: { data: data.toString('base64'), format: format as 'wav' },
              },
              { type: 'text', text: 'What do you hear?' },
            ],
          },
        ],
        max_tokens: 8,
        temperature: 0,
      });
    const qwen = loadTokenizer(qwenDir);
    const textIds = qwen.encode(
      qwen.renderChat([{ role: 'user', content: '<image>\nWhat do you hear?' }], {
        addGenerationPrompt: true,
      }),
      { addSpecialTokens: false },
    );
    const fromWav = await ask(wav, 'wav');
    // 1 s at 16 kHz: 100 mel frames that hold audio -> 50 encoder frames -> 50 rows.
    assert.equal(fromWav.usage?.prompt_tokens, textIds.length - 1 + 50);
    assert.equal(fromWav.usage?.prompt_tokens_details?.audio_tokens, 50, 'the rows the clip took');
    assert.equal(typeof fromWav.choices[0].message.content, 'string');
    const flac = readFileSync(join(repoRoot, 'packages', 'media', 'test-data', 'tone-44k1-stereo.flac'));
    const samples = (await normalizeAudio(flac)).pcm.length;
    const fromFlac = await ask(flac, 'flac');
    assert.equal(fromFlac.usage?.prompt_tokens, textIds.length - 1 + Math.ceil(Math.ceil(samples / 160) / 2));
    await expectError(ask(wav, 'flac'), 400, 'format_mismatch');
  });

  it('repeats a seeded sampled answer and honours stop strings', async () => {
    const base = {
      model: 'tiny-llama',
      messages: [{ role: 'user' as const, content: 'Tell me a story.' }],
      max_tokens: 24,
    };
    const sampled = (seed: number) =>
      openai.chat.completions
        .create({ ...base, temperature: 1.2, top_p: 0.95, seed })
        .then((r) => r.choices[0].message.content);
    assert.equal(await sampled(11), await sampled(11));
    const greedy =
      (await openai.chat.completions.create({ ...base, temperature: 0 })).choices[0].message.content ?? '';
    const stop = greedy.slice(6, 9);
    assert.ok(
      stop.length === 3 && greedy.indexOf(stop) === 6,
      `a stop string from the middle: ${JSON.stringify(greedy)}`,
    );
    const stopped = await openai.chat.completions.create({ ...base, temperature: 0, stop: [stop] });
    assert.equal(stopped.choices[0].message.content, greedy.slice(0, 6));
    assert.equal(stopped.choices[0].finish_reason, 'stop');
  });

  it("refuses bad requests in OpenAI's error shape", async () => {
    const user = (content: OpenAI.ChatCompletionContentPart[]) => ({
      model: imageRun.id,
      messages: [{ role: 'user' as const, content }],
      max_tokens: 4,
    });
    const image = (url: string) => user([{ type: 'image_url', image_url: { url } }]);
    const notFound = await expectError(
      openai.chat.completions.create({ ...user([{ type: 'text', text: 'hi' }]), model: 'no-such-model' }),
      404,
      'model_not_found',
    );
    assert.match(notFound.message, /available: .*tiny-llama/);
    assert.equal((notFound.error as { type?: string }).type, 'not_found_error');
    const empty = await expectError(
      openai.chat.completions.create({ model: 'tiny-llama', messages: [] }),
      400,
      'invalid_value',
    );
    assert.equal(empty.param, 'messages');
    await expectError(
      openai.chat.completions.create(image('data:image/png;base64,@@not-base64@@')),
      400,
      'invalid_base64',
    );
    const bmpHeader = Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]);
    const unsupported = await expectError(
      openai.chat.completions.create(image(dataUri(bmpHeader, 'image/bmp'))),
      400,
      'unsupported_format',
    );
    assert.match(unsupported.message, /bmp is not a supported format; supported: .*png/);
    assert.equal(unsupported.param, 'messages.0.content.0.image_url.url');
    const noise = await sharp({
      create: {
        width: 400,
        height: 400,
        channels: 3,
        background: '#000000',
        noise: { type: 'gaussian', mean: 128, sigma: 60 },
      },
    })
      .png()
      .toBuffer();
    await expectError(openai.chat.completions.create(image(dataUri(noise))), 413, 'payload_too_large');
    const huge = Buffer.alloc(3 * 1024 * 1024, 65).toString();
    await expectError(
      openai.chat.completions.create({ model: 'tiny-llama', messages: [{ role: 'user', content: huge }] }),
      413,
    );
    const remote = await expectError(
      openai.chat.completions.create(image(`${harness.url}/healthz`)),
      400,
      'url_refused',
    );
    assert.match(remote.message, /turned off/);
    await expectError(
      openai.chat.completions.create(image(`media/sha256/00/${'0'.repeat(64)}.jpg`)),
      400,
      'image_not_found',
    );
    await expectError(openai.chat.completions.create(image('runs/secret.json')), 400, 'invalid_image_url');
    const textOnly = await expectError(
      openai.chat.completions.create({ ...image(dataUri(png)), model: 'tiny-llama' }),
      400,
      'unsupported_media',
    );
    assert.match(textOnly.message, /text-only/);
    await expectError(
      openai.chat.completions.create({ ...user([{ type: 'text', text: 'hi' }]), n: 17 }),
      400,
    );
    await expectError(
      openai.chat.completions.create({
        model: 'tiny-llama',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 501,
      }),
      400,
      'invalid_value',
    );
  });

  it('answers 400 with the limit when the images do not fit the context', async () => {
    // tiny-llama has 512 positions and each tiny-CLIP image takes 16 rows: 33 images cannot fit.
    const small = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const parts = Array.from({ length: 33 }, () => ({
      type: 'image_url' as const,
      image_url: { url: dataUri(small) },
    }));
    const err = await expectError(
      openai.chat.completions.create({
        model: imageRun.id,
        messages: [{ role: 'user', content: parts }],
        max_tokens: 4,
      }),
      400,
      'context_length_exceeded',
    );
    const [, total, fit] =
      /takes (\d+) positions .* context is 512.*each image takes 16 positions, so at most (\d+) fit/.exec(
        err.message,
      ) ?? [];
    const textTokens = Number(total) - 33 * 16;
    assert.equal(Number(fit), Math.floor((511 - textTokens) / 16), err.message);
  });

  it('stops generating and frees the slot when a streaming client disconnects', async () => {
    const metricsBefore = await (await fetch(`${harness.url}/metrics`)).text();
    const closedBefore = Number(
      /serve_requests_total\{[^}]*outcome="client_closed"[^}]*\} (\d+)/.exec(metricsBefore)?.[1] ?? 0,
    );
    const tokens = (text: string) =>
      Number(/serve_completion_tokens_total\{[^}]*model="tiny-llama"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    const stream = await openai.chat.completions.create({
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'Go on forever.' }],
      max_tokens: 500,
      temperature: 0.8,
      seed: 3,
      stream: true,
    });
    for await (const _chunk of stream) break; // leaving the loop aborts the request
    const deadline = Date.now() + 5000;
    while (harness.serve.queue.active > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(harness.serve.queue.active, 0, 'the generation slot is free again');
    const metrics = await (await fetch(`${harness.url}/metrics`)).text();
    const closed = Number(
      /serve_requests_total\{[^}]*outcome="client_closed"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0,
    );
    assert.equal(closed, closedBefore + 1);
    const generated = tokens(metrics) - tokens(metricsBefore);
    assert.ok(generated < 500, `generation stopped early (${generated} of 500 tokens)`);
    const ok = await openai.chat.completions.create({
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 2,
    });
    assert.equal(ok.choices.length, 1);
  });

  it('answers 429 with Retry-After when the queue is full', async () => {
    const busy = await harness.another({
      MMIT_SERVE_BASE_MODELS: `tiny-llama=${llamaDir}`,
      MMIT_SERVE_MAX_QUEUE: '0',
      MMIT_SERVE_RETRY_AFTER_SEC: '7',
    });
    // A request that has sent only its head holds the only place (admission happens at the head),
    // for as long as its connection stays open: no race with how fast a generation ends.
    const holder = postHeadOnly(`${busy.url}/v1/chat/completions`, 100);
    while (busy.serve.queue.waiting + busy.serve.queue.active === 0)
      await new Promise((r) => setTimeout(r, 10));
    try {
      const refused = await expectError(
        client(busy.url).chat.completions.create({
          model: 'tiny-llama',
          messages: [{ role: 'user', content: 'me too' }],
          max_tokens: 2,
        }),
        429,
        'queue_full',
      );
      assert.equal(refused.headers?.get('retry-after'), '7');
    } finally {
      holder.socket.destroy();
    }
  });

  it('reports health, readiness and serving metrics', async () => {
    assert.equal((await fetch(`${harness.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${harness.url}/readyz`)).status, 200);
    const metrics = await (await fetch(`${harness.url}/metrics`)).text();
    for (const name of [
      'serve_queue_length',
      'serve_time_to_first_token_seconds_count',
      'serve_decode_tokens_per_second_count',
      'serve_completion_tokens_total',
      'serve_models_loaded',
    ]) {
      assert.match(metrics, new RegExp(name));
    }
    assert.match(metrics, /serve_requests_total\{[^}]*outcome="ok"[^}]*\} [1-9]/);
  });
});
