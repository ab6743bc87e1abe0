// `mmit export` as a library call against a real embedded S3 server (or the endpoint MMIT_S3_*
// name): reading a run (spec + checkpoint, encoder from the spec, from encoder.json, or from the
// caller), the errors for runs that cannot be exported, both formats in one call, and the
// one-machine path that opens the embedded store's folder when no S3 endpoint is configured.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { keys, newId } from '@mmit/contracts';
import { recordEncoder } from '@mmit/features';
import type { Bucket } from '@mmit/storage';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { RunSpecSchema } from '@mmit/train';
import { TEST_ENCODER_KEY } from '@mmit/train/testing';
import { fixturesDir } from '../../../test/paths.js';
import { BOTH_FORMAT_DIRS, parseByteSize, parseExportFormat, runExport } from './command.js';
import { ExportError } from './errors.js';
import { loadExportRun } from './run-source.js';
import { trainTinyRun } from './testing.js';
import { TJS_FILES } from './transformers-js.js';

let store: TestStore;
let bucket: Bucket;
let runId: string;
let keyOnlyRunId: string;

const isExportError = (code: string, pattern: RegExp) => (err: unknown) =>
  err instanceof ExportError && err.problemCode === code && pattern.test(err.message);

before(async () => {
  store = await startTestStore({ name: 'export-cmd' });
  bucket = store.bucket;
  runId = await trainTinyRun(bucket, { fixturesDir, lm: 'tiny-llama' });
  keyOnlyRunId = await trainTinyRun(bucket, { fixturesDir, lm: 'tiny-qwen2', encoderKeyOnly: true });
});
after(() => store?.stop());

describe('loadExportRun', () => {
  test('reads the spec, the latest checkpoint and the encoder named by the spec', async () => {
    const run = await loadExportRun(bucket, runId);
    assert.equal(run.step, 2);
    assert.equal(run.encoder.dir, join(fixturesDir, 'tiny-clip-vision'));
    assert.equal(run.encoder.spec.visionFeatureLayer, -2);
    assert.equal(run.encoder.spec.select, 'patch');
    assert.deepEqual(run.projector.spec, { type: 'mlp2x_gelu', inputDim: 64, outputDim: 64 });
    assert.deepEqual(Object.keys(run.projector.weights).sort(), [
      'projector.linear_1.bias',
      'projector.linear_1.weight',
      'projector.linear_2.bias',
      'projector.linear_2.weight',
    ]);
    assert.equal(run.lora, null);
  });

  test('names what is missing: unknown run, a step without checkpoint, a run not trained yet', async () => {
    const unknown = newId('run');
    await assert.rejects(
      loadExportRun(bucket, unknown),
      isExportError('not_found', new RegExp(`run ${unknown} not found`)),
    );
    await assert.rejects(
      loadExportRun(bucket, runId, { step: 1 }),
      isExportError('not_found', /no checkpoint at step 1; it has: 2/),
    );
    const fresh = newId('run');
    const spec = RunSpecSchema.parse({
      datasetId: newId('dataset'),
      encoder: { key: TEST_ENCODER_KEY },
      lm: { checkpoint: join(fixturesDir, 'tiny-llama') },
    });
    await bucket.putJson(keys.runSpec(fresh), spec, RunSpecSchema);
    await assert.rejects(
      loadExportRun(bucket, fresh),
      isExportError('conflict', /no complete checkpoint yet/),
    );
  });

  test('a run with only an encoder key takes its encoder from encoder.json, or from the caller', async () => {
    await assert.rejects(loadExportRun(bucket, keyOnlyRunId), isExportError('validation', /--encoder/));
    const clip = join(fixturesDir, 'tiny-clip-vision');
    assert.equal((await loadExportRun(bucket, keyOnlyRunId, { encoder: clip })).encoder.dir, clip);
    await recordEncoder(bucket, {
      encoderKey: TEST_ENCODER_KEY,
      identity: {
        format: 1,
        kind: 'clip',
        modality: 'image',
        weightsSha256: 'ab'.repeat(32),
        architecture: {},
        layer: -2,
        select: 'patch',
        preprocessing: {},
        dtype: 'float32',
        compute: 'float32',
      },
      spec: { checkpoint: clip, visionFeatureLayer: -2, select: 'patch' },
      createdAt: new Date().toISOString(),
    });
    assert.equal((await loadExportRun(bucket, keyOnlyRunId)).encoder.dir, clip);
  });
});

describe('runExport', () => {
  test('writes both formats from the bucket MMIT_S3_* names', async () => {
    const out = join(store.dir, 'both');
    const lines: string[] = [];
    const result = await runExport({
      runId,
      out,
      format: 'both',
      env: store.env,
      onProgress: (l) => lines.push(l),
    });
    assert.equal(result.step, 2);
    assert.equal(result.hf?.dir, join(out, BOTH_FORMAT_DIRS.hf));
    assert.equal(result.transformersJs?.dir, join(out, BOTH_FORMAT_DIRS.transformersJs));
    assert.ok(existsSync(join(out, 'hf', 'model.safetensors')));
    for (const file of Object.values(TJS_FILES))
      assert.ok(existsSync(join(out, 'transformers.js', file)), file);
    assert.ok(lines.some((l) => l.includes(`reading run ${runId}`)));
  });

  test('without an S3 endpoint, opens the embedded store folder (and says when there is none)', async (t) => {
    if (!store.embedded) return t.skip('the run is on MMIT_S3_ENDPOINT, not in an embedded store folder');
    const { dir } = store;
    const out = join(dir, 'embedded');
    const result = await runExport({ runId, out, format: 'hf', env: {}, dataDir: store.embedded.dir });
    assert.ok(result.hf && !result.transformersJs);
    assert.ok(existsSync(join(out, 'config.json')));
    await assert.rejects(
      runExport({ runId, out: join(dir, 'none'), format: 'hf', env: {}, dataDir: join(dir, 'missing') }),
      isExportError('not_found', /no embedded store at .*missing/),
    );
  });

  test('parses formats and shard sizes, listing the valid forms', () => {
    assert.equal(parseExportFormat('transformers.js'), 'transformers.js');
    assert.throws(
      () => parseExportFormat('gguf'),
      isExportError('validation', /valid: hf, transformers\.js, both/),
    );
    assert.equal(parseByteSize('5GB'), 5e9);
    assert.equal(parseByteSize('500mb'), 5e8);
    assert.equal(parseByteSize('2GiB'), 2 * 2 ** 30);
    assert.equal(parseByteSize('1000'), 1000);
    assert.throws(() => parseByteSize('lots'), isExportError('validation', /like 5GB/));
  });
});
