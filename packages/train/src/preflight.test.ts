// Bad specs are rejected with errors that say what is wrong and how to fix it.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { newId, RunSpecSchema } from '@mmit/contracts';
import type { HubProgress } from '@mmit/models';
import type { Bucket } from '@mmit/storage';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { startFakeHub } from '../../../test/fake-hub.js';
import { fixturesDir } from '../../../test/paths.js';
import {
  checkProjectorInput,
  DimensionMismatchError,
  MissingImageTokenError,
  pinRevisions,
  preflight,
} from './preflight.js';
import { TEST_ENCODER_KEY, writeTinyDataset } from './testing.js';

let store: TestStore;
let bucket: Bucket;
let datasetId: string;
before(async () => {
  store = await startTestStore({ name: 'preflight' });
  bucket = store.bucket;
  datasetId = newId('dataset');
  await writeTinyDataset(bucket, datasetId, { train: 2, validation: 1 });
});
after(() => store?.stop());

const base = () => ({
  datasetId,
  encoder: { key: TEST_ENCODER_KEY },
  lm: { checkpoint: join(fixturesDir, 'tiny-llama') },
});

test('lr <= 0 is rejected by the schema with the field named', () => {
  for (const lr of [0, -1e-3]) {
    const parsed = RunSpecSchema.safeParse({ ...base(), optimizer: { lr } });
    assert.equal(parsed.success, false);
    assert.deepEqual(parsed.error?.issues[0].path, ['optimizer', 'lr']);
    assert.match(parsed.error?.issues[0].message ?? '', /must be a finite number > 0/);
  }
  assert.equal(RunSpecSchema.safeParse({ ...base(), epochs: 1, steps: 3 }).success, false);
});

test('an unknown dataset is named', async () => {
  const missing = newId('dataset');
  await assert.rejects(preflight(bucket, RunSpecSchema.parse({ ...base(), datasetId: missing })), {
    name: 'UnknownDatasetError',
    message: new RegExp(`dataset ${missing} does not exist`),
  });
});

test('an LM whose tokenizer lacks the image token: the error says how to add it', async () => {
  const lmDir = mkdtempSync(join(tmpdir(), 'mmit-noimage-'));
  try {
    cpSync(join(fixturesDir, 'tiny-llama'), lmDir, { recursive: true });
    const tok = JSON.parse(readFileSync(join(lmDir, 'tokenizer.json'), 'utf8'));
    tok.added_tokens = tok.added_tokens.filter((t: { content: string }) => t.content !== '<image>');
    delete tok.model.vocab['<image>'];
    writeFileSync(join(lmDir, 'tokenizer.json'), JSON.stringify(tok));
    const spec = RunSpecSchema.parse({ ...base(), lm: { checkpoint: lmDir } });
    await assert.rejects(preflight(bucket, spec), (err: Error) => {
      assert.ok(err instanceof MissingImageTokenError);
      assert.match(err.message, /has no "<image>" token/);
      assert.match(err.message, /add_special_tokens.*resize_token_embeddings/);
      return true;
    });
  } finally {
    rmSync(lmDir, { recursive: true, force: true });
  }
});

test('encoder width and projector input must agree', async () => {
  const spec = RunSpecSchema.parse({
    ...base(),
    encoder: { spec: { checkpoint: join(fixturesDir, 'tiny-clip-vision') } },
    projector: { inputDim: 1024 },
  });
  await assert.rejects(preflight(bucket, spec), (err: Error) => {
    assert.ok(err instanceof DimensionMismatchError);
    assert.match(err.message, /projector.inputDim is 1024 but the encoder's features are 64 wide/);
    return true;
  });
  assert.doesNotThrow(() => checkProjectorInput(spec, null, 'unknown'));
});

test('an LM named by repo id is pinned to the commit it resolved to; the pinned spec ignores a moved branch', async (t) => {
  const hub = await startFakeHub();
  const cache = mkdtempSync(join(tmpdir(), 'mmit-preflight-hub-'));
  const saved = { HF_ENDPOINT: process.env.HF_ENDPOINT, HF_HUB_CACHE: process.env.HF_HUB_CACHE };
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_HUB_CACHE = cache;
  t.after(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await hub.close();
    rmSync(cache, { recursive: true, force: true });
  });
  const tiny = join(fixturesDir, 'tiny-llama');
  const files = Object.fromEntries(readdirSync(tiny).map((name) => [name, readFileSync(join(tiny, name))]));
  const first = hub.commit('acme/tiny-llama', files);
  const spec = RunSpecSchema.parse({ ...base(), lm: { checkpoint: 'acme/tiny-llama' } });
  const events: HubProgress[] = [];
  const checks = await preflight(bucket, spec, { onProgress: (p) => events.push(p) });
  assert.equal(checks.commits.lm, first);
  assert.ok(events.length > 0 && events.at(-1)!.bytes === events.at(-1)!.total, 'the download was reported');
  const pinned = pinRevisions(spec, checks.commits);
  assert.equal(pinned.lm.revision, first);
  assert.equal(RunSpecSchema.parse(pinned).lm.revision, first, 'the stored spec keeps it');

  // The branch moves on; the pinned spec still opens the commit the run was checked against.
  const config = JSON.parse(files['config.json']!.toString()) as Record<string, unknown>;
  const second = hub.commit('acme/tiny-llama', {
    ...files,
    'config.json': JSON.stringify({ ...config, note: 'moved' }),
  });
  assert.equal((await preflight(bucket, pinned)).commits.lm, first);
  assert.equal((await preflight(bucket, spec)).commits.lm, second);
});
