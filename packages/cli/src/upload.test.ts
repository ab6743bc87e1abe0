// `mmit corpus import` from a folder outside anything the server may read: the folder is tarred
// on the fly and sent in parts through the real ingest service (over the embedded S3 server), an
// interrupted upload resumes with only the missing parts, and the hf-folder and parquet formats
// import end to end through the CLI process itself.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createIngestService } from '@mmit/ingest';
import { randomScene, renderScene } from '@mmit/media';
import type { RunningService } from '@mmit/service-kit';
import { type EmbeddedS3, embeddedS3Config, startEmbeddedS3 } from '@mmit/storage';
import { ApiClient } from './http-client.js';
import { deterministicTar, listFolder, localSource, uploadSource } from './upload.js';

const PART = 5 * 1024 * 1024;
const main = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');
let dir: string;
let s3: EmbeddedS3;
let ingest: RunningService;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmit-cli-upload-'));
  s3 = await startEmbeddedS3({ dir: join(dir, 's3'), port: 0 });
  ingest = await createIngestService({
    env: {
      MMIT_INGEST_PORT: '0',
      MMIT_LOG_LEVEL: 'silent',
      // The server may read nothing of this machine: every source must come by upload.
      MMIT_INGEST_IMPORT_ROOTS: '',
      MMIT_INGEST_UPLOAD_PART_BYTES: String(PART),
    },
    bucket: embeddedS3Config(s3),
  }).start();
});
after(async () => {
  await ingest?.close();
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function write(root: string, files: Record<string, Buffer | string>): Promise<string> {
  for (const [path, data] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), data);
  }
  return root;
}

/** A small PNG, different for each seed (so none is a near duplicate of another). */
const picture = (seed: number) => {
  let state = seed;
  const rng = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  return renderScene(randomScene(rng), { width: 64, noiseSeed: seed });
};

async function mmit(...args: string[]) {
  const env = { ...process.env, MMIT_STATE_DIR: join(dir, 'state') };
  return promisify(execFile)(process.execPath, ['--import', 'tsx', main, '--url', ingest.url, ...args], {
    encoding: 'utf8',
    env,
  });
}

async function corpus(name: string): Promise<string> {
  return (await mmit('corpus', 'create', name)).stdout.trim();
}

test('a folder tars the same bytes every time (what resuming relies on)', async () => {
  const root = await write(join(dir, 'same'), {
    'b.txt': 'b',
    'a/x.png': 'x',
    'empty.txt': '',
    '.hidden': 'h',
  });
  const bytes = async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of deterministicTar(await listFolder(root))) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  const first = await bytes();
  assert.ok(first.equals(await bytes()));
  assert.deepEqual(
    (await listFolder(root)).map((f) => f.name),
    ['a/x.png', 'b.txt', 'empty.txt'],
  );
});

test('an interrupted upload resumes, sending only the parts the service lacks', async () => {
  process.env.MMIT_STATE_DIR = join(dir, 'state');
  const root = await write(join(dir, 'big'), { 'a.bin': randomBytes(2 * PART + 12345) });
  const client = new ApiClient({ url: ingest.url });
  const source = await localSource(root, false);
  // The first try dies after its first part (the connection dropping, Ctrl-C).
  const cut = { ...source, open: () => Readable.from(cutAfter(source.open(), PART + 1)) };
  await assert.rejects(uploadSource(client, cut), /cut/);
  const seen: number[] = [];
  const done = await uploadSource(client, source, (p) => seen.push(p.resumed));
  assert.equal(done.state, 'complete');
  assert.equal(done.parts.length, 3);
  assert.equal(seen.at(-1), PART, 'the first part was found on the service, not sent again');
  assert.equal(done.size, source.size, 'the size told up front is the size sent');
});

async function* cutAfter(stream: AsyncIterable<Buffer>, bytes: number): AsyncGenerator<Buffer> {
  let sent = 0;
  for await (const chunk of stream) {
    sent += chunk.length;
    yield chunk;
    if (sent >= bytes) throw new Error('cut');
  }
}

test('mmit corpus import uploads an hf imagefolder from anywhere and reports every bad row', async () => {
  const root = await write(join(dir, 'anywhere', 'pets'), {
    'train/metadata.jsonl': `${[
      { file_name: 'a.png', text: 'A green square.' },
      { file_name: 'b.png', text: 'A pink square.' },
      { file_name: 'gone.png', text: 'Not there.' },
      { text: 'No file name.' },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n')}\n`,
    'train/a.png': await picture(10),
    'train/b.png': await picture(200),
    'test/metadata.csv': 'file_name,text\nc.png,A third square.\n',
    'test/c.png': await picture(120),
  });
  const id = await corpus('pets');
  const { stdout, stderr } = await mmit('corpus', 'import', id, root);
  assert.match(stderr, /uploaded pets\.tar/);
  assert.match(stdout, /imported 5 entries/);
  assert.match(stdout, /accepted\s+│?\s*3/);
  assert.match(stdout, /missing_media/);
  assert.match(stdout, /train\/metadata\.jsonl:4/);

  // --server-path still asks the server, which here may read nothing.
  await assert.rejects(mmit('corpus', 'import', id, root, '--server-path'), /MMIT_INGEST_IMPORT_ROOTS/);
});

test('mmit corpus import uploads a Parquet file in the Hub layout', async () => {
  const { makeParquet } = await import('../../../services/ingest/src/testing/parquet.js');
  const rows = [
    { image: { bytes: new Uint8Array(await picture(30)), path: 'x.png' }, text: 'A square.' },
    { image: { bytes: new Uint8Array(Buffer.from('not an image')), path: 'y.png' }, text: 'Bad bytes.' },
  ];
  const root = await write(join(dir, 'hub'), {
    'data/train-00000-of-00001.parquet': makeParquet(
      [
        { name: 'image', type: 'image' },
        { name: 'text', type: 'string' },
      ],
      rows,
    ),
  });
  const id = await corpus('hub');
  const { stdout } = await mmit('corpus', 'import', id, join(root, 'data', 'train-00000-of-00001.parquet'));
  assert.match(stdout, /imported 2 entries/);
  assert.match(stdout, /train-00000-of-00001\.parquet#1/);
  assert.match(stdout, /unsupported_media_type/);
});
