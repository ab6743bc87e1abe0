// The feature service end to end, in process, over a real embedded S3 server (or the endpoint
// MMIT_S3_* name): features equal the
// engine's direct forward, a second job is all cache hits, a corrupt shard is caught by its
// checksum and recomputed, undecodable media fail alone, audio is windowed with a mask, and fp16
// storage gets its own encoder key.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FeatureJobResult, JobRecord } from '@mmit/contracts';
import { keys } from '@mmit/contracts';
import { decodeBlock, FeatureIndex } from '@mmit/features';
import {
  buildWhisperEncoderGraph,
  clipImageFeatures,
  loadImageProcessor,
  loadWhisperFeatureConfig,
  openWhisperEncoder,
  preprocessImage,
  whisperLogMel,
} from '@mmit/models';
import type { Bucket } from '@mmit/storage';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { createSession, float16ToFloat32, hostTensor } from '@mmit/tensor';
import { fixture } from '../../../test/paths.js';
import { createFeaturesService } from './app.js';
import { noisePng, type TestMedia, toneWav, writeCorpus } from './testing/corpus.js';
import { getJson, postJson, waitForJob } from './testing/http.js';

const clipDir = fixture('tiny-clip-vision');
const whisperDir = fixture('tiny-whisper');

let store: TestStore;
let bucket: Bucket;
let url: string;
let close: () => Promise<void>;

before(async () => {
  store = await startTestStore({
    name: 'features-it',
    retry: { retries: 2, baseDelayMs: 20, maxDelayMs: 100 },
  });
  const { config } = store;
  bucket = store.bucket;
  const features = createFeaturesService({
    env: {
      MMIT_FEATURES_PORT: '0',
      MMIT_LOG_LEVEL: 'silent',
      MMIT_FEATURES_BATCH_SIZE: '4',
      MMIT_FEATURES_THREADS: '1',
    },
    bucket: config,
  });
  const running = await features.start();
  url = running.url;
  close = running.close;
});

after(async () => {
  await close?.();
  await store?.stop();
});

async function runJob(
  body: Record<string, unknown>,
): Promise<{ record: JobRecord; result: FeatureJobResult }> {
  const submitted = await postJson<JobRecord>(`${url}/v1/features/jobs`, body);
  assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
  const record = await waitForJob(url, submitted.body.id);
  assert.equal(record.status, 'succeeded', JSON.stringify(record.error));
  return { record, result: record.result as FeatureJobResult };
}

async function fetchBlock(encoderKey: string, sha: string) {
  const res = await fetch(`${url}/v1/features/${encoderKey}/${sha}`);
  assert.equal(res.status, 200, await res.clone().text());
  return decodeBlock(new Uint8Array(await res.arrayBuffer())).block;
}

/** max |a - b| / max(1, max |b|): the 1e-6 criterion, scaled for features of any magnitude. */
function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

const clipSpec = { checkpoint: clipDir, visionFeatureLayer: -2, select: 'patch' };

let images: TestMedia[];
let corpus: Awaited<ReturnType<typeof writeCorpus>>;
let clipKey: string;

test('image features equal the engine forward (1e-6); duplicates and audio items are not computed twice or at all', async () => {
  images = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => noisePng(24 + 7 * i, 40 - 2 * i, i)));
  corpus = await writeCorpus(bucket, [...images, toneWav(1, 440)], { duplicates: 2 });
  const { result } = await runJob({ corpusId: corpus.corpusId, encoder: clipSpec });
  clipKey = result.encoderKey;
  assert.match(clipKey, /^clip-[0-9a-f]{32}$/);
  assert.equal(result.items, 12);
  assert.equal(result.media, 9);
  assert.equal(result.skipped, 1, 'the audio item');
  assert.equal(result.computed, 9);
  assert.equal(result.hits, 0);
  assert.equal(result.failed, 0);
  assert.equal(result.shardsWritten, 3, '9 media in batches of 4');
  assert.equal(result.ep, 'cpu');
  assert.equal(result.fallbackReason, null);

  const plan = loadImageProcessor(clipDir);
  for (const [i, media] of images.entries()) {
    if (media.kind !== 'image') continue;
    const pixels = await preprocessImage(media.bytes, plan);
    const batch = hostTensor('float32', [1, ...pixels.dims], pixels.data);
    const expected = await clipImageFeatures(clipDir, batch, { layer: -2, select: 'patch' });
    const sha = corpus.items[i].media!.sha256;
    const got = await fetchBlock(clipKey, sha);
    assert.deepEqual(got.features.dims, expected.dims.slice(1));
    assert.equal(got.features.dtype, 'float32');
    const err = maxRelative(got.features.data as Float32Array, expected.data as Float32Array);
    assert.ok(err <= 1e-6, `image ${i}: max relative error ${err}`);
  }
});

test('a second job over the same corpus computes nothing: every item is a verified cache hit', async () => {
  const { result } = await runJob({ corpusId: corpus.corpusId, encoder: clipSpec });
  assert.equal(result.encoderKey, clipKey);
  assert.equal(result.hits, 9);
  assert.equal(result.computed, 0);
  assert.equal(result.ep, null, 'no encoder session was even opened');
  // The same encoder spelled with defaults and a trailing slash reaches the same key.
  const again = await runJob({ corpusId: corpus.corpusId, encoder: { checkpoint: `${clipDir}/` } });
  assert.equal(again.result.encoderKey, clipKey);
  assert.equal(again.result.computed, 0);
});

test('a corrupt shard is detected by its checksum, the damaged item is recomputed, and reads heal', async () => {
  const index = new FeatureIndex(bucket, clipKey);
  await index.refresh();
  const victim = index.get(corpus.items[4].media!.sha256)!;
  const shardKey = keys.featureShard(clipKey, victim.shardId);
  const bytes = Buffer.from(await bucket.getBuffer(shardKey));
  bytes[victim.offset + 17] ^= 0x40;
  await bucket.putBuffer(shardKey, bytes);

  const refused = await fetch(`${url}/v1/features/${clipKey}/${victim.sha256}`);
  assert.equal(refused.status, 409);
  assert.match(((await refused.json()) as { detail: string }).detail, /checksum/);

  const { result } = await runJob({ corpusId: corpus.corpusId, encoder: clipSpec });
  assert.equal(result.recomputed, 1);
  assert.equal(result.computed, 1);
  assert.equal(result.hits, 8);

  const pixels = await preprocessImage((images[4] as { bytes: Buffer }).bytes, loadImageProcessor(clipDir));
  const expected = await clipImageFeatures(clipDir, hostTensor('float32', [1, ...pixels.dims], pixels.data));
  const healed = await fetchBlock(clipKey, victim.sha256);
  assert.ok(maxRelative(healed.features.data as Float32Array, expected.data as Float32Array) <= 1e-6);
});

test('an undecodable image fails alone with its reason; its neighbours are stored', async () => {
  const good = await noisePng(30, 30, 99);
  const broken: TestMedia = { kind: 'broken-image', bytes: Buffer.from('this is not a png at all') };
  const { corpusId, items } = await writeCorpus(bucket, [good, broken]);
  const { record, result } = await runJob({ corpusId, encoder: clipSpec });
  assert.equal(result.computed, 1);
  assert.equal(result.failed, 1);
  assert.equal(result.failures[0].sha256, items[1].media!.sha256);
  assert.equal(result.failures[0].itemId, items[1].id);
  assert.ok(result.failures[0].detail.length > 0);
  assert.equal(record.progress.failed, 1);
  assert.equal((await fetch(`${url}/v1/features/${clipKey}/${items[1].media!.sha256}`)).status, 404);
});

test('audio: 30 s windows, long clips chunked, mask of real frames; equal to the direct encoder forward', async () => {
  const clips = [toneWav(1.5, 440), toneWav(31, 220)];
  const { corpusId, items } = await writeCorpus(bucket, [...clips, await noisePng(20, 20, 5)]);
  const { result } = await runJob({ corpusId, encoder: { checkpoint: whisperDir } });
  assert.match(result.encoderKey, /^whisper-/);
  assert.equal(result.modality, 'audio');
  assert.equal(result.computed, 2);
  assert.equal(result.skipped, 1, 'the image item');

  const encoder = openWhisperEncoder(whisperDir);
  const session = await createSession(buildWhisperEncoderGraph(encoder), { cache: false });
  encoder.weights.close();
  const config = loadWhisperFeatureConfig(whisperDir);
  const expectations = [
    { windows: 1, realFrames: [75] }, // ceil(ceil(24000 / 160) / 2)
    { windows: 2, realFrames: [1500, 50] }, // a full window, then 1 s: ceil(100 / 2)
  ];
  for (const [i, clip] of clips.entries()) {
    if (clip.kind !== 'audio') continue;
    const block = await fetchBlock(result.encoderKey, items[i].media!.sha256);
    const { windows, realFrames } = expectations[i];
    assert.deepEqual(block.features.dims, [windows, 1500, 64]);
    assert.deepEqual(block.mask?.dims, [windows, 1500]);
    // The stored copy is 16-bit PCM: decode the same bytes the service read.
    const pcm = decodePcm16(clip.wav16k);
    for (let w = 0; w < windows; w++) {
      const mask: Uint8Array = (block.mask!.data as Uint8Array).subarray(w * 1500, (w + 1) * 1500);
      assert.equal(
        mask.reduce((n: number, v: number) => n + v, 0),
        realFrames[w],
      );
      assert.equal(mask[realFrames[w] - 1], 1);
      const mel = whisperLogMel(pcm.subarray(w * 480000, (w + 1) * 480000), config);
      const out = await session.run({ input_features: hostTensor('float32', [1, 80, 3000], mel.data) });
      const got = (block.features.data as Float32Array).subarray(w * 1500 * 64, (w + 1) * 1500 * 64);
      const err = maxRelative(got, out.last_hidden_state.data as Float32Array);
      assert.ok(err <= 1e-6, `clip ${i} window ${w}: max relative error ${err}`);
    }
  }
  await session.release();
});

function decodePcm16(wav: Uint8Array): Float32Array {
  const view = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);
  const count = (wav.byteLength - 44) / 2;
  return Float32Array.from({ length: count }, (_, i) => view.getInt16(44 + 2 * i, true) / 32768);
}

test('fp16 storage is its own encoder key and holds the float32 features rounded to half precision', async () => {
  const { result } = await runJob({ corpusId: corpus.corpusId, encoder: { ...clipSpec, dtype: 'float16' } });
  assert.notEqual(result.encoderKey, clipKey);
  assert.equal(result.computed, 9);
  const sha = corpus.items[0].media!.sha256;
  const half = await fetchBlock(result.encoderKey, sha);
  const full = await fetchBlock(clipKey, sha);
  assert.equal(half.features.dtype, 'float16');
  const widened = float16ToFloat32(half.features.data as Uint16Array);
  const reference = full.features.data as Float32Array;
  for (let i = 0; i < reference.length; i++) {
    assert.ok(
      Math.abs(widened[i] - reference[i]) <= Math.abs(reference[i]) * 2 ** -10 + 1e-7,
      `value ${i}: ${widened[i]} vs ${reference[i]} (${half.features.data[i]})`,
    );
  }
});

test('stats, SSE, metrics and validation', async () => {
  const stats = await getJson<{ items: number; shards: number; identity: { kind: string } }>(
    `${url}/v1/features/${clipKey}`,
  );
  assert.equal(stats.identity.kind, 'clip');
  assert.ok(stats.items >= 10);
  const all = await getJson<{ items: { encoderKey: string }[] }>(`${url}/v1/features`);
  assert.ok(all.items.some((s) => s.encoderKey === clipKey));

  const { record } = await runJob({ corpusId: corpus.corpusId, encoder: clipSpec });
  const events = await (await fetch(`${url}/v1/features/jobs/${record.id}/events`)).text();
  assert.match(events, /event: job/);
  assert.match(events, /"status":"succeeded"/);

  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /mmit_features_items_total\{[^}]*outcome="hit"[^}]*\} \d+/);
  assert.match(metrics, /mmit_features_items_total\{[^}]*outcome="computed"[^}]*\} \d+/);
  assert.match(metrics, /mmit_features_items_per_second/);

  const both = await postJson<{ code: string }>(`${url}/v1/features/jobs`, { encoder: clipSpec });
  assert.equal(both.status, 400);
  const badSelect = await postJson<{ code: string }>(`${url}/v1/features/jobs`, {
    corpusId: corpus.corpusId,
    encoder: { ...clipSpec, select: 'everything' },
  });
  assert.equal(badSelect.status, 400);
  assert.equal((await fetch(`${url}/v1/features/${clipKey}/${'0'.repeat(64)}`)).status, 404);
});

test('a job that could only fail is refused at submission with the field, and says nothing of other folders', async () => {
  type Refusal = { code: string; detail: string; errors?: { path: string }[] };
  const submit = (body: Record<string, unknown>) =>
    postJson<Refusal>(`${url}/v1/features/jobs`, { corpusId: corpus.corpusId, encoder: clipSpec, ...body });
  const expectRefused = async (
    body: Record<string, unknown>,
    status: number,
    field: string,
    detail: RegExp,
  ) => {
    const res = await submit(body);
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.errors?.[0]?.path, field);
    assert.match(res.body.detail, detail);
    return res.body.detail;
  };
  await expectRefused({ corpusId: 'c_0000000000000000000000' }, 404, 'body.corpusId', /does not exist/);
  await expectRefused(
    { corpusId: undefined, datasetId: 'd_0000000000000000000000' },
    404,
    'body.datasetId',
    /does not exist/,
  );
  for (const visionFeatureLayer of [99, -99, [-2, 40]]) {
    await expectRefused(
      { encoder: { ...clipSpec, visionFeatureLayer } },
      400,
      'body.encoder.visionFeatureLayer',
      /out of range/,
    );
  }
  const notACheckpoint = /is neither a checkpoint folder .* nor a Hugging Face repo id/;
  // A folder that exists without config.json, one that does not exist, a file, a climb: one answer.
  const answers = new Set<string>();
  for (const checkpoint of ['/usr', '/nonexistent/x', '/etc/hostname', '../../etc']) {
    const detail = await expectRefused(
      { encoder: { ...clipSpec, checkpoint } },
      400,
      'body.encoder.checkpoint',
      notACheckpoint,
    );
    answers.add(detail.replace(checkpoint, '<path>'));
  }
  assert.equal(answers.size, 1, [...answers].join(' | '));
  await expectRefused(
    { encoder: { ...clipSpec, processor: '/nonexistent/processor' } },
    400,
    'body.encoder.processor',
    /not a processor folder/,
  );
  await expectRefused(
    { encoder: { ...clipSpec, checkpoint: fixture('tiny-llama') } },
    400,
    'body.encoder.checkpoint',
    /model_type 'llama' is not a supported encoder/,
  );
});
