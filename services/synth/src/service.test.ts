import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type JobRecord, keys, type Page, type Problem } from '@mmit/contracts';
import type { DatasetManifest, ItemSynthOutcome, Sample } from '@mmit/synth';
import { type FakeLlm, startFakeLlm } from '@mmit/synth/testing';
import {
  json,
  post,
  type Storage,
  startStorage,
  startSynth,
  until,
  waitForJob,
  writeCorpus,
} from './testing/harness.js';

let storage: Storage;
let fake: FakeLlm;
let synth: Awaited<ReturnType<typeof startSynth>>;

before(async () => {
  storage = await startStorage();
  fake = await startFakeLlm();
  synth = await startSynth(storage, {
    MMIT_SYNTH_LLM_BASE_URL: fake.url,
    MMIT_SYNTH_LLM_MODEL: 'fake-model',
  });
});
after(async () => {
  await synth?.close();
  await fake?.close();
  await storage?.stop();
});

const ALL_KINDS = { brief: {}, detailed: {}, conversation: {}, reasoning: {} };

async function createDataset(body: object): Promise<{ dataset: DatasetManifest; job: JobRecord }> {
  const res = await post(`${synth.url}/v1/datasets`, body);
  assert.equal(res.status, 202, await res.clone().text());
  return json(res);
}

async function build(body: object): Promise<{ manifest: DatasetManifest; job: JobRecord }> {
  const { dataset, job } = await createDataset(body);
  const done = await waitForJob(synth.url, job.id);
  const manifest = await json<DatasetManifest>(await fetch(`${synth.url}/v1/datasets/${dataset.id}`));
  return { manifest, job: done };
}

test('a dataset from a corpus: job, manifest with counts, filters, diversity and split, samples, outcomes, exports', async () => {
  const corpus = await writeCorpus(storage.bucket, [
    {
      captions: [
        'A red star at the top right and a blue circle at the bottom left on a beige background.',
        'Two shapes: a red star and a blue circle.',
      ],
    },
    { captions: ['A man is riding a brown horse on the beach.'] },
    {
      captions: ['A low beep, then a high beep, then a low beep.', 'Three short tones in silence.'],
      modality: 'audio',
    },
    { captions: [] },
    { captions: ['Un chat noir dort sur le canapé rouge du salon.'] },
    { captions: ['A broken upload.'], status: 'rejected' },
    {
      captions: ['A dog lies on a green sofa next to a lamp.'],
      extra: {
        boxes: [
          { bbox: [0.1, 0.4, 0.5, 0.3], category: 'dog' },
          { bbox: [0.7, 0.1, 0.1, 0.3], category: 'lamp' },
        ],
      },
    },
    { captions: ['Two yellow triangles in the center on a white background.'] },
  ]);
  const { manifest, job } = await build({
    corpusId: corpus.id,
    recipe: { kinds: ALL_KINDS, seed: 3, split: { validation: 0.3 } },
  });
  assert.equal(job.status, 'succeeded');
  assert.equal(job.progress.done, 7);
  assert.equal(job.progress.total, 7, 'the rejected item is not input');
  assert.equal(manifest.status, 'ready');
  assert.equal(manifest.jobId, job.id);
  assert.equal(manifest.totalItems, 7);
  assert.equal(manifest.parts.length, 3, 'parts of 3 items');
  assert.equal(manifest.counts.items, 7);
  assert.equal(manifest.counts.outcomes.skipped, 2);
  assert.equal(manifest.counts.reasons.no_captions, 1);
  assert.equal(manifest.counts.reasons.non_target_language, 1);
  assert.ok(manifest.counts.samples >= 15);
  assert.equal(manifest.counts.bySplit.train + manifest.counts.bySplit.validation, manifest.counts.samples);
  assert.equal(manifest.filters.kept.samples, manifest.counts.samples);
  assert.equal(manifest.diversity?.samples, manifest.counts.samples);
  assert.ok(manifest.diversity!.topVerbNouns.length > 0);
  assert.ok(
    manifest.warnings.some((w) => /1 item\(s\) had no caption/.test(w)),
    manifest.warnings.join('; '),
  );

  // Samples: all pages together are the dataset; kind and split filters apply.
  const all: Sample[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<Sample> = await json(
      await fetch(
        `${synth.url}/v1/datasets/${manifest.id}/samples?limit=4${cursor ? `&cursor=${cursor}` : ''}`,
      ),
    );
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  assert.equal(all.length, manifest.counts.samples);
  assert.equal(new Set(all.map((s) => s.id)).size, all.length);
  const briefs: Page<Sample> = await json(
    await fetch(`${synth.url}/v1/datasets/${manifest.id}/samples?kind=brief&limit=100`),
  );
  assert.equal(briefs.items.length, manifest.counts.byKind.brief);
  assert.ok(briefs.items.every((s) => s.kind === 'brief'));
  const audio = all.find((s) => s.modality === 'audio')!;
  assert.match(audio.audio!, /^media\/sha256\/.+\.wav$/);

  const skipped: Page<ItemSynthOutcome> = await json(
    await fetch(`${synth.url}/v1/datasets/${manifest.id}/outcomes?status=skipped`),
  );
  assert.deepEqual(skipped.items.map((o) => o.problems[0].reason).sort(), [
    'no_captions',
    'non_target_language',
  ]);

  for (const format of ['llava', 'sharegpt', 'jsonl'] as const) {
    const res = await fetch(`${synth.url}/v1/datasets/${manifest.id}/export?format=${format}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', new RegExp(`${manifest.id}\\.json`));
    const text = await res.text();
    const records =
      format === 'llava'
        ? JSON.parse(text)
        : text
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l));
    assert.equal(records.length, all.length, format);
    assert.deepEqual(records[0].conversations, all[0].conversations, format);
  }

  const list: Page<DatasetManifest> = await json(await fetch(`${synth.url}/v1/datasets`));
  assert.ok(list.items.some((d) => d.id === manifest.id));
  const doc = synth.service.openapi.document({ title: 'synth', version: '0' });
  for (const path of [
    '/v1/datasets',
    '/v1/datasets/{id}',
    '/v1/datasets/{id}/samples',
    '/v1/datasets/{id}/export',
    '/v1/datasets/jobs/{jobId}/events',
  ]) {
    assert.ok(doc.paths[path], `OpenAPI lacks ${path}: ${Object.keys(doc.paths).join(', ')}`);
  }
});

test('bad requests and bad corpora: unknown corpus 404, llm without endpoint 400, no captions at all', async () => {
  const missing = await post(`${synth.url}/v1/datasets`, {
    corpusId: 'c_0000000000000000000000',
    recipe: { kinds: { brief: {} } },
  });
  assert.equal(missing.status, 404);
  assert.equal((await json<Problem>(missing)).code, 'not_found');
  const invalid = await post(`${synth.url}/v1/datasets`, { corpusId: 'nope', recipe: { kinds: {} } });
  assert.equal(invalid.status, 400);
  const fields = (await json<Problem>(invalid)).errors!.map((e) => e.path);
  assert.ok(fields.includes('body.corpusId') && fields.includes('body.recipe.kinds'), fields.join(','));

  const bare = await writeCorpus(storage.bucket, [{ captions: [] }, { captions: ['   '] }]);
  const noLlm = await startSynth(storage);
  try {
    const res = await post(`${noLlm.url}/v1/datasets`, {
      corpusId: bare.id,
      recipe: { kinds: { brief: {} }, generator: 'llm' },
    });
    assert.equal(res.status, 400);
    assert.match((await json<Problem>(res)).detail, /MMIT_SYNTH_LLM_BASE_URL/);
  } finally {
    await noLlm.close();
  }
  const { manifest, job } = await build({ corpusId: bare.id, recipe: { kinds: ALL_KINDS } });
  assert.equal(job.status, 'succeeded');
  assert.equal(manifest.counts.samples, 0);
  assert.equal(manifest.counts.outcomes.skipped, 2);
  assert.equal(manifest.warnings[0], 'the corpus has no captions: nothing could be made');
});

test("the LLM budget is divided among a job's units by their items, whoever runs them first", async () => {
  const corpus = await writeCorpus(
    storage.bucket,
    Array.from({ length: 12 }, (_, n) => ({ captions: [`A budget test kite number ${n} flies high.`] })),
  );
  fake.reset('ok');
  const { manifest } = await build({
    corpusId: corpus.id,
    recipe: { kinds: { conversation: {} }, generator: 'llm', llm: { maxRequests: 4, concurrency: 1 } },
  });
  // Four units of three items, one request each: the first item of every unit is asked for.
  assert.equal(manifest.llm.requests, 4);
  assert.equal(fake.requests.length, 4);
  assert.equal(manifest.counts.reasons.llm_budget_exhausted, 8);
  const outcomes: Page<ItemSynthOutcome> = await json(
    await fetch(`${synth.url}/v1/datasets/${manifest.id}/outcomes?status=ok`),
  );
  assert.deepEqual(
    outcomes.items.map((o) => o.index),
    [0, 3, 6, 9],
  );
});

test('a job that fails marks its dataset failed, saying why', async () => {
  const corpus = await writeCorpus(storage.bucket, [
    { captions: ['A brown dog chases a red ball in the park.'] },
    { captions: ['A cat sleeps on a red sofa.'] },
  ]);
  // The manifest lists a part whose records are gone: the job cannot read its items.
  await storage.bucket.delete(keys.corpusItems(corpus.id, corpus.parts[0].part));
  const { manifest, job } = await build({ corpusId: corpus.id, recipe: { kinds: { brief: {} } } });
  assert.equal(job.status, 'failed');
  // The replica that ended the job marks the dataset right after it stores the job's record.
  const marked = await until('the dataset marked', async () => {
    const m = await json<DatasetManifest>(await fetch(`${synth.url}/v1/datasets/${manifest.id}`));
    return m.status === 'failed' ? m : undefined;
  });
  assert.equal(marked.warnings.length, 1);
  assert.match(marked.warnings[0], /^the job failed: .*p-0000/);
});

test('llm generator through the service: invalid replies become per-item outcomes, the bucket cache makes reruns free', async () => {
  const corpus = await writeCorpus(storage.bucket, [
    { captions: ['A brown dog chases a red ball in the park.'] },
    { captions: ['A cat sleeps on a red sofa.'] },
  ]);
  fake.reset('not-json');
  const recipe = { kinds: { brief: {}, conversation: {} }, generator: 'llm', llm: { retries: 0 } };
  const broken = await build({ corpusId: corpus.id, recipe });
  assert.equal(broken.job.status, 'succeeded');
  assert.equal(broken.manifest.counts.byKind.brief, 2);
  assert.equal(broken.manifest.counts.byKind.conversation, undefined);
  assert.equal(broken.manifest.counts.reasons.llm_invalid_reply, 2);
  assert.ok(broken.manifest.warnings.some((w) => /not the asked-for JSON/.test(w)));

  fake.reset('ok');
  const first = await build({ corpusId: corpus.id, recipe });
  assert.equal(first.manifest.counts.byKind.conversation, 2);
  assert.equal(fake.requests.length, 2);
  assert.equal(first.manifest.llm.requests, 2);
  const again = await build({ corpusId: corpus.id, recipe });
  assert.equal(fake.requests.length, 2, 'the rerun is answered from the bucket cache');
  assert.equal(again.manifest.llm.cacheHits, 2);
  assert.equal(again.manifest.counts.samples, first.manifest.counts.samples);
});
