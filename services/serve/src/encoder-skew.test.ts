// Serving must encode media exactly as the features a run trained on were made. The real features
// service extracts an image's features with a float16 graph into float16 storage; a run over that
// encoder is served; the rows serve computes for the same image bytes must equal the run's
// projector applied to the stored features. Served through a float32 tower instead (what serve did
// before it read the spec's precision), the rows move by far more than the tolerance: the check
// fails on exactly that skew.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FeatureJobResult, JobRecord } from '@mmit/contracts';
import { FeatureReader } from '@mmit/features';
import { applyProjector } from '@mmit/models';
import type { Bucket } from '@mmit/storage';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { createSession, Graph, toNumbers } from '@mmit/tensor';
import { fixture } from '../../../test/paths.js';
import { createFeaturesService } from '../../features/src/app.js';
import { noisePng, writeCorpus } from '../../features/src/testing/corpus.js';
import { postJson, waitForJob } from '../../features/src/testing/http.js';
import { runDefinition } from './catalog/run-models.js';
import { type MediaRows, openMediaEncoder } from './engine/media-encoder.js';
import type { ModelDefinition } from './engine/served-model.js';
import { writeFixtureRun } from './testing/fixture-runs.js';

let store: TestStore;
let bucket: Bucket;
let featuresUrl: string;
let closeFeatures: () => Promise<void>;

before(async () => {
  store = await startTestStore({ name: 'skew' });
  bucket = store.bucket;
  const features = createFeaturesService({
    env: { MMIT_FEATURES_PORT: '0', MMIT_LOG_LEVEL: 'silent', MMIT_FEATURES_THREADS: '1' },
    bucket: store.config,
  });
  const running = await features.start();
  featuresUrl = running.url;
  closeFeatures = running.close;
});

after(async () => {
  await closeFeatures?.();
  await store?.stop();
});

/** Same graphs, same inputs: what is left is the projector run at another batch shape. */
const TOLERANCE = 1e-5;

/** max |a - b| over max |b|. */
function relativeGap(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let gap = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    gap = Math.max(gap, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return gap / scale;
}

async function servedRows(
  media: NonNullable<ModelDefinition['media']>,
  image: Uint8Array,
): Promise<MediaRows> {
  const encoder = await openMediaEncoder(media.encoder, media.projector, 'cpu', 1);
  try {
    return (await encoder.encodeImages([image]))[0];
  } finally {
    await encoder.release();
  }
}

test('served image rows equal the projector over the features the run trained on, float16 graph and storage included', async () => {
  const clip = fixture('tiny-clip-vision');
  const halfPrecision = { compute: 'float16', dtype: 'float16' } as const;
  const image = await noisePng(48, 40, 3);
  if (image.kind !== 'image') throw new Error('noisePng gives an image');
  const { corpusId, items } = await writeCorpus(bucket, [image]);
  const submitted = await postJson<JobRecord>(`${featuresUrl}/v1/features/jobs`, {
    corpusId,
    encoder: { checkpoint: clip, ...halfPrecision },
  });
  assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
  const job = await waitForJob(featuresUrl, submitted.body.id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  const { encoderKey } = job.result as FeatureJobResult;
  const stored = await new FeatureReader(bucket, encoderKey).read(items[0].media!.sha256);
  assert.equal(stored.features.dtype, 'float16');
  const [rows, width] = stored.features.dims;

  const { id } = await writeFixtureRun(bucket, {
    lm: fixture('tiny-llama'),
    encoder: clip,
    encoderSpec: halfPrecision,
    featureDim: width,
    hiddenSize: 64,
  });
  const def = await runDefinition(bucket, id);
  const media = def!.media!;
  assert.equal(media.encoder.spec.compute, 'float16');
  assert.equal(media.encoder.spec.dtype, 'float16');

  // The reference: the run's projector over the stored features, widened as training reads them.
  const g = new Graph('projector');
  const x = g.input('features', 'float32', [rows, width]);
  const params = Object.fromEntries(
    Object.entries(media.projector.weights).map(([n, t]) => [n, g.initializer(n, t)]),
  );
  g.output('rows', applyProjector(media.projector.spec, params, x));
  const session = await createSession(g, { cache: false });
  const expected = toNumbers(
    (
      await session.run({
        features: {
          dtype: 'float32',
          dims: [rows, width],
          data: Float32Array.from(toNumbers(stored.features)),
        },
      })
    ).rows,
  );
  await session.release();

  const served = await servedRows(media, image.bytes);
  assert.equal(served.rows, rows);
  const gap = relativeGap(served.data, expected);
  assert.ok(
    gap < TOLERANCE,
    `served rows differ from the trained-on features' rows by ${gap.toExponential(2)}`,
  );

  const skewed = await servedRows(
    {
      ...media,
      encoder: { ...media.encoder, spec: { ...media.encoder.spec, compute: 'float32', dtype: 'float32' } },
    },
    image.bytes,
  );
  const skew = relativeGap(skewed.data, expected);
  assert.ok(
    skew > 10 * TOLERANCE,
    `a float32 tower moves the rows by only ${skew.toExponential(2)}: the check could not see it`,
  );
  console.log(
    `served vs trained-on rows: ${gap.toExponential(2)}; through a float32 tower: ${skew.toExponential(2)}`,
  );
});
