// End to end: the real launcher (embedded S3, the ingest service as a child process, the gateway)
// on free ports; every import format goes in through the gateway (the folder one through the
// mmit CLI), and each corpus manifest must show the expected counts. Then everything stops.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { encodeWav } from '../../packages/media/src/index.js';
import { makeTar, makeZip } from '../../services/ingest/src/testing/archives.js';
import { jpeg } from '../../services/ingest/src/testing/harness.js';
import { repoRoot } from '../paths.js';
import { servicesForThisFile } from './services.js';

const services = servicesForThisFile('mmit-e2e-');

const api = (path: string, init?: RequestInit) => fetch(`${services.launched.gatewayUrl}${path}`, init);

async function newCorpus(name: string): Promise<string> {
  const res = await api('/v1/corpora', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  assert.equal(res.status, 201);
  return ((await res.json()) as { id: string }).id;
}

async function finished(jobId: string): Promise<{ status: string; error?: unknown }> {
  for (;;) {
    const job = (await (await api(`/v1/jobs/${jobId}`)).json()) as { status: string; error?: unknown };
    if (job.status !== 'queued' && job.status !== 'running') return job;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function counts(corpusId: string) {
  const manifest = (await (await api(`/v1/corpora/${corpusId}`)).json()) as {
    counts: { accepted: number; duplicate: number; rejected: number; images: number; audio: number };
  };
  const { accepted, duplicate, rejected, images, audio } = manifest.counts;
  return { accepted, duplicate, rejected, images, audio };
}

async function importPath(format: string, path: string): Promise<string> {
  const corpusId = await newCorpus(format);
  const res = await api(`/v1/corpora/${corpusId}/imports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ format, source: { type: 'path', path } }),
  });
  assert.equal(res.status, 202);
  const job = await finished(((await res.json()) as { id: string }).id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  return corpusId;
}

async function importUpload(format: string, archive: Buffer, name: string): Promise<string> {
  const corpusId = await newCorpus(format);
  const form = new FormData();
  form.append('format', format);
  form.append('archive', new Blob([archive]), name);
  const res = await api(`/v1/corpora/${corpusId}/imports`, { method: 'POST', body: form });
  assert.equal(res.status, 202);
  const job = await finished(((await res.json()) as { id: string }).id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  return corpusId;
}

const wav = () =>
  Buffer.from(
    encodeWav(
      new Float32Array(8000).map((_, i) => Math.sin(i / 5) * 0.3),
      16000,
      'pcm16',
    ),
  );

test('the launcher answers health checks through the gateway and refuses unknown routes', async () => {
  for (const url of Object.values(services.launched.services))
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  const res = await api('/v1/nothing-here');
  assert.equal(res.status, 404);
});

test('the gateway routes each API to its service', async () => {
  // Each list answers 200 from the service that owns the prefix (an empty bucket: empty lists).
  for (const path of ['/v1/corpora', '/v1/datasets', '/v1/features', '/v1/runs', '/v1/models']) {
    const res = await api(path);
    assert.equal(res.status, 200, `${path} through the gateway`);
    await res.arrayBuffer();
  }
  const models = (await (await api('/v1/models')).json()) as { object: string };
  assert.equal(models.object, 'list');
});

test('a folder with sidecars, through the mmit CLI', async () => {
  const folder = join(services.root, 'folder');
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'a.jpg'), await jpeg(300, 200, 1));
  await writeFile(join(folder, 'a.txt'), 'a gradient');
  await writeFile(join(folder, 'b.wav'), wav());
  await writeFile(join(folder, 'b.txt'), 'a hum');
  const corpusId = await newCorpus('cli folder');
  // Asynchronously: the gateway runs in this process and must keep answering while the CLI runs.
  const args = [
    '--import',
    'tsx',
    'packages/cli/src/main.ts',
    '--url',
    services.launched.gatewayUrl,
    'corpus',
    'import',
  ];
  const cli = await promisify(execFile)(process.execPath, [...args, corpusId, folder], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.match(cli.stdout, /accepted\s+2/);
  assert.deepEqual(await counts(corpusId), { accepted: 2, duplicate: 0, rejected: 0, images: 1, audio: 1 });
});

test('tar and zip uploads, WebDataset, LLaVA JSON, COCO, JSONL and CSV imports', async () => {
  const [i1, i2, i3] = await Promise.all([jpeg(120, 90, 2), jpeg(120, 90, 3), jpeg(120, 90, 4)]);
  const sidecars = [
    { name: 'x.jpg', data: i1 },
    { name: 'x.txt', data: 'x' },
    { name: 'y.jpg', data: i2 },
    { name: '../../escape.jpg', data: i3 },
  ];
  assert.deepEqual(
    await counts(await importUpload('tar', await makeTar(sidecars, { gzip: true }), 's.tar.gz')),
    {
      accepted: 2,
      duplicate: 0,
      rejected: 1,
      images: 2,
      audio: 0,
    },
  );
  assert.deepEqual(await counts(await importUpload('zip', makeZip(sidecars), 's.zip')), {
    accepted: 2,
    duplicate: 0,
    rejected: 1,
    images: 2,
    audio: 0,
  });
  const shard = await makeTar([
    { name: '0001.jpg', data: i1 },
    { name: '0001.json', data: JSON.stringify({ caption: 'one' }) },
    { name: '0002.jpg', data: i1 },
    { name: '0002.txt', data: 'same bytes' },
  ]);
  assert.deepEqual(await counts(await importUpload('webdataset', shard, 'shard-0000.tar')), {
    accepted: 1,
    duplicate: 1,
    rejected: 0,
    images: 1,
    audio: 0,
  });

  const data = join(services.root, 'manifests');
  await mkdir(join(data, 'images'), { recursive: true });
  await writeFile(join(data, 'images', '1.jpg'), i1);
  await writeFile(join(data, 'images', '2.jpg'), i2);
  await writeFile(join(data, 'clip.wav'), wav());
  await writeFile(
    join(data, 'llava.json'),
    JSON.stringify([
      {
        id: '1',
        image: 'images/1.jpg',
        conversations: [
          { from: 'human', value: '<image>\nWhat?' },
          { from: 'gpt', value: 'A gradient.' },
        ],
      },
      { id: '2', image: 'images/none.jpg', conversations: [] },
    ]),
  );
  assert.deepEqual(await counts(await importPath('llava-json', join(data, 'llava.json'))), {
    accepted: 1,
    duplicate: 0,
    rejected: 1,
    images: 1,
    audio: 0,
  });
  await writeFile(
    join(data, 'coco.json'),
    JSON.stringify({
      images: [
        { id: 1, file_name: '1.jpg', width: 120, height: 90 },
        { id: 2, file_name: '2.jpg', width: 120, height: 90 },
      ],
      annotations: [
        { image_id: 1, caption: 'first' },
        { image_id: 2, caption: 'second' },
      ],
    }),
  );
  assert.deepEqual(await counts(await importPath('coco', join(data, 'coco.json'))), {
    accepted: 2,
    duplicate: 0,
    rejected: 0,
    images: 2,
    audio: 0,
  });
  await writeFile(
    join(data, 'm.jsonl'),
    `${JSON.stringify({ image: 'images/2.jpg', caption: 'two' })}\n${JSON.stringify({ audio: 'clip.wav', captions: ['hum'] })}\n`,
  );
  assert.deepEqual(await counts(await importPath('jsonl', join(data, 'm.jsonl'))), {
    accepted: 2,
    duplicate: 0,
    rejected: 0,
    images: 1,
    audio: 1,
  });
  await writeFile(
    join(data, 'clotho.csv'),
    'file_name,caption_1,caption_2\nclip.wav,a hum,"a low, steady hum"\n',
  );
  assert.deepEqual(await counts(await importPath('csv', join(data, 'clotho.csv'))), {
    accepted: 1,
    duplicate: 0,
    rejected: 0,
    images: 0,
    audio: 1,
  });
});
