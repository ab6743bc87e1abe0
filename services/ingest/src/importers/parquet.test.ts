// Parquet in the Hub's layout, written by the test (testing/parquet.ts): image and audio columns
// as {bytes, path} and {array, sampling_rate}, row groups, compression, resuming mid-file, and
// every bad row of docs/import-formats.md failing alone; in a folder and in a streamed tar.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { decodeWav } from '@mmit/media';
import { makeTar } from '../testing/archives.js';
import { collect, NOT_UTF8, removeFolder, tempFolder } from '../testing/collect.js';
import { makeParquet } from '../testing/parquet.js';
import { importEntries, openLocalSource, SourceError } from './index.js';
import { archiveStreamTree } from './sources.js';

const folders: string[] = [];
after(async () => Promise.all(folders.map(removeFolder)));

async function importFolder(files: Record<string, Buffer | string>, options = {}) {
  const root = await tempFolder(files);
  folders.push(root);
  const { tree, manifest } = await openLocalSource(root, 'parquet');
  return collect(importEntries('parquet', tree, { ...options, ...(manifest ? { manifest } : {}) }));
}

async function importTar(files: Record<string, Buffer | string>, options = {}) {
  const tar = await makeTar(Object.entries(files).map(([name, data]) => ({ name, data })));
  const tree = await archiveStreamTree('pq.tar', async () => Readable.from([tar]));
  return collect(importEntries('parquet', tree, options));
}

const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const imageColumns = [
  { name: 'image', type: 'image' as const },
  { name: 'text', type: 'string' as const },
  { name: 'id', type: 'int' as const },
];
const hub = {
  'data/train-00000-of-00001.parquet': makeParquet(
    imageColumns,
    [0, 1, 2, 3, 4].map((n) => ({
      image: { bytes: bytes(`IMG${n}`), path: `${n}.png` },
      text: `caption ${n}`,
      id: BigInt(n),
    })),
    { rowGroupSize: 2 },
  ),
  'data/validation-00000-of-00001.parquet': makeParquet(
    imageColumns,
    [{ image: { bytes: bytes('VAL'), path: null }, text: 'validation caption', id: 9n }],
    { codec: 'GZIP' },
  ),
};

test('parquet: the Hub layout, splits from file names, row groups and codecs, in a folder and a tar', async () => {
  for (const items of [await importFolder(hub), await importTar(hub)]) {
    assert.deepEqual(
      items.map((i) => [i.index, i.source, i.captions, i.meta?.split, i.text]),
      [
        [0, 'data/train-00000-of-00001.parquet#0', ['caption 0'], 'train', 'IMG0'],
        [1, 'data/train-00000-of-00001.parquet#1', ['caption 1'], 'train', 'IMG1'],
        [2, 'data/train-00000-of-00001.parquet#2', ['caption 2'], 'train', 'IMG2'],
        [3, 'data/train-00000-of-00001.parquet#3', ['caption 3'], 'train', 'IMG3'],
        [4, 'data/train-00000-of-00001.parquet#4', ['caption 4'], 'train', 'IMG4'],
        [5, 'data/validation-00000-of-00001.parquet#0', ['validation caption'], 'validation', 'VAL'],
      ],
    );
    assert.equal(items[1].meta?.path, '1.png');
    assert.equal(items[1].meta?.id, 1);
    assert.equal(items[0].kind, 'image');
  }
});

test('parquet: resuming mid-file skips earlier rows; counting reads no row', async () => {
  const items = await importFolder(hub, { resumeAt: 3 });
  assert.deepEqual(
    items.map((i) => i.index),
    [3, 4, 5],
  );
  const counted = await importFolder(hub, { countOnly: true });
  assert.equal(counted.length, 6);
});

test('parquet: audio as {bytes, path} and as {array, sampling_rate} (stored as WAV)', async () => {
  const samples = [0, 0.5, -0.5, 0.25];
  const items = await importFolder({
    'bytes.parquet': makeParquet(
      [
        { name: 'audio', type: 'audio-bytes' },
        { name: 'sentence', type: 'string' },
      ],
      [{ audio: { bytes: bytes('RIFFWAV'), path: 'a.wav' }, sentence: 'Rain.' }],
    ),
    'decoded.parquet': makeParquet(
      [
        { name: 'audio', type: 'audio-array' },
        { name: 'transcription', type: 'string' },
      ],
      [{ audio: { array: samples, sampling_rate: 16000n }, transcription: 'A tone.' }],
    ),
  });
  assert.deepEqual(
    items.map((i) => [i.source, i.kind, i.captions]),
    [
      ['bytes.parquet#0', 'audio', ['Rain.']],
      ['decoded.parquet#0', 'audio', ['A tone.']],
    ],
  );
  const wav = decodeWav(Buffer.from(items[1].text ?? '', 'latin1'));
  assert.equal(wav.sampleRate, 16000);
  assert.deepEqual([...wav.channelData[0]], samples);
});

test('parquet: every bad row fails alone, with the row and the reason', async () => {
  const rows = [
    { image: { bytes: bytes('OK'), path: 'ok.png' }, text: 'fine' },
    { image: null, text: 'no image at all' },
    { image: { bytes: null, path: null }, text: 'neither bytes nor path' },
    { image: { bytes: null, path: 'missing.png' }, text: 'path to nothing' },
    { image: { bytes: null, path: 'beside.png' }, text: 'path to a file beside it' },
    { image: { bytes: bytes('X'), path: null }, text: null },
    { image: { bytes: bytes('Y'), path: null }, text: NOT_UTF8 },
  ];
  const items = await importFolder({
    'train.parquet': makeParquet(imageColumns, rows, { rowGroupSize: 3 }),
    'beside.png': 'BESIDE',
  });
  assert.deepEqual(
    items.map((i) => [i.source, i.code ?? i.text]),
    [
      ['train.parquet#0', 'OK'],
      ['train.parquet#1', 'invalid_record'],
      ['train.parquet#2', 'invalid_record'],
      ['train.parquet#3', 'missing_media'],
      ['train.parquet#4', 'BESIDE'],
      ['train.parquet#5', 'missing_caption'],
      ['train.parquet#6', 'invalid_caption'],
    ],
  );
  assert.match(items[1].detail ?? '', /train\.parquet#1: no image/);
  assert.match(items[2].detail ?? '', /neither bytes nor a path/);
  assert.match(items[6].detail ?? '', /not valid UTF-8/);

  // Wrong types: a caption column of numbers, a media column of numbers.
  const typed = await importFolder({
    'typed.parquet': makeParquet(
      [
        { name: 'image', type: 'int' },
        { name: 'text', type: 'int' },
      ],
      [{ image: 1n, text: 2n }],
      { hfFeatures: false },
    ),
  });
  assert.equal(typed[0].code, 'invalid_caption');
  assert.match(typed[0].detail ?? '', /column 'text' must hold a string or a list of strings, got bigint/);
  const badMedia = await importFolder({
    'typed.parquet': makeParquet(
      [
        { name: 'image', type: 'int' },
        { name: 'text', type: 'string' },
      ],
      [{ image: 1n, text: 'a caption' }],
      { hfFeatures: false },
    ),
  });
  assert.equal(badMedia[0].code, 'invalid_record');
  assert.match(badMedia[0].detail ?? '', /must be bytes, a path or a \{bytes, path\} struct, got bigint/);
});

test('parquet: a file that is not Parquet, or lacks a caption or media column, stops the import', async () => {
  await assert.rejects(
    importFolder({ 'data/train.parquet': 'not parquet at all' }),
    (err: Error) =>
      err instanceof SourceError && /data\/train\.parquet is not a readable Parquet file/.test(err.message),
  );
  await assert.rejects(
    importFolder({
      'x.parquet': makeParquet(
        [
          { name: 'image', type: 'image' },
          { name: 'label', type: 'int' },
        ],
        [{ image: null, label: 1n }],
      ),
    }),
    /no caption column .*columns are \[image, label\]/,
  );
  await assert.rejects(
    importFolder({
      'x.parquet': makeParquet([{ name: 'text', type: 'string' }], [{ text: 'a' }], { hfFeatures: false }),
    }),
    /no media column/,
  );
  await assert.rejects(importFolder({ 'readme.md': 'x' }), /no \*\.parquet file found/);
});
