// LLaVA JSON, COCO, JSONL and CSV manifests, in a folder (random access) and in a tar (two passes).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeTar } from '../testing/archives.js';
import { collect, NOT_UTF8, removeFolder, tempFolder } from '../testing/collect.js';
import { importEntries, openLocalSource, SourceError } from './index.js';

const folders: string[] = [];
after(async () => Promise.all(folders.map(removeFolder)));

async function folderWith(files: Record<string, Buffer | string>): Promise<string> {
  const root = await tempFolder(files);
  folders.push(root);
  return root;
}

async function importFolder(format: string, files: Record<string, Buffer | string>, options = {}) {
  const { tree, manifest } = await openLocalSource(await folderWith(files), format);
  return collect(importEntries(format, tree, { ...options, ...(manifest ? { manifest } : {}) }));
}

const llava = [
  {
    id: 's1',
    image: 'images/one.jpg',
    conversations: [
      { from: 'human', value: '<image>\nWhat is shown?' },
      { from: 'gpt', value: 'A red circle.' },
      { from: 'human', value: 'Where?' },
      { from: 'gpt', value: 'In the middle.' },
    ],
  },
  { id: 's2', conversations: [{ from: 'human', value: 'text only' }] },
  { id: 's3', image: 'images/missing.jpg', conversations: [] },
  { id: 's4', image: '../../etc/passwd', conversations: [] },
  { id: 's5', image: 'two.jpg', conversations: [{ from: 'gpt', value: 'found by file name' }] },
];

test('LLaVA JSON: gpt turns become captions, conversations kept, bad records fail alone', async () => {
  const items = await importFolder('llava-json', {
    'llava.json': JSON.stringify(llava),
    'images/one.jpg': 'ONE',
    'images/nested/two.jpg': 'TWO',
  });
  assert.deepEqual(
    items.map((i) => [i.source, i.code ?? i.captions]),
    [
      ['images/one.jpg', ['A red circle.', 'In the middle.']],
      ['llava.json[1]', 'invalid_record'],
      ['images/missing.jpg', 'missing_media'],
      ['../../etc/passwd', 'unsafe_path'],
      ['two.jpg', ['found by file name']],
    ],
  );
  assert.equal(items[0].meta?.id, 's1');
  assert.deepEqual(items[0].meta?.conversations, llava[0].conversations);
  assert.equal(items[4].text, 'TWO');
});

test('LLaVA JSON given as a single file path reads only that manifest', async () => {
  const root = await folderWith({
    'a.json': JSON.stringify([llava[0]]),
    'b.json': '{"not": "llava"}',
    'images/one.jpg': 'ONE',
  });
  const { tree, manifest } = await openLocalSource(join(root, 'a.json'), 'llava-json');
  assert.equal(manifest, 'a.json');
  const items = await collect(importEntries('llava-json', tree, { manifest }));
  assert.deepEqual(
    items.map((i) => i.source),
    ['images/one.jpg'],
  );
});

test('LLaVA JSON inside a tar (streamed twice): unresolvable records first, then files in archive order', async () => {
  const tar = await makeTar([
    { name: 'images/one.jpg', data: 'ONE' },
    { name: 'data/llava.json', data: JSON.stringify([llava[0], llava[2]]) },
  ]);
  const root = await folderWith({ 'x.tar': tar });
  const { tree } = await openLocalSource(join(root, 'x.tar'), 'llava-json');
  const items = await collect(importEntries('llava-json', tree));
  assert.deepEqual(
    items.map((i) => [i.source, i.code ?? i.text]),
    [
      ['images/missing.jpg', 'missing_media'],
      ['images/one.jpg', 'ONE'],
    ],
  );
});

test('COCO: captions joined by image id, instance boxes normalised to 0..1 with category names', async () => {
  const captions = {
    images: [
      { id: 1, file_name: '000001.jpg', width: 200, height: 100 },
      { id: 2, file_name: '000002.jpg', width: 50, height: 50 },
      { id: 3, file_name: '000003.jpg', width: 10, height: 10 },
    ],
    annotations: [
      { id: 10, image_id: 1, caption: 'a cat on a mat ' },
      { id: 11, image_id: 1, caption: 'a mat with a cat' },
      { id: 12, image_id: 2, caption: 'a dog' },
      { id: 13, image_id: 99, caption: 'no such image' },
    ],
  };
  const instances = {
    images: captions.images,
    categories: [{ id: 17, name: 'cat' }],
    annotations: [{ id: 20, image_id: 1, category_id: 17, bbox: [50, 25, 100, 50] }],
  };
  const items = await importFolder('coco', {
    'annotations/captions_val.json': JSON.stringify(captions),
    'annotations/instances_val.json': JSON.stringify(instances),
    'val/000001.jpg': 'I1',
    'val/000002.jpg': 'I2',
  });
  assert.deepEqual(
    items.map((i) => [i.source, i.code ?? i.captions]),
    [
      ['000001.jpg', ['a cat on a mat', 'a mat with a cat']],
      ['000002.jpg', ['a dog']],
      ['000003.jpg', 'missing_media'],
    ],
  );
  assert.deepEqual(items[0].meta, {
    cocoId: 1,
    boxes: [{ bbox: [0.25, 0.25, 0.5, 0.5], categoryId: 17, category: 'cat' }],
  });
  assert.deepEqual(items[1].meta, { cocoId: 2 });
});

test('JSONL: image and audio lines, caption or captions, bad lines fail alone', async () => {
  const lines = [
    JSON.stringify({ image: 'a.png', caption: 'first', source: 'web' }),
    '',
    JSON.stringify({ audio: 'clips/b.wav', captions: ['beep', 'a beep'] }),
    '{not json',
    JSON.stringify({ caption: 'no path' }),
    JSON.stringify({ image: 'a.png', captions: [1, 2] }),
  ];
  const manifest = Buffer.concat([
    Buffer.from(`${lines.join('\n')}\n`),
    Buffer.from('{"image":"a.png","caption":"'),
    NOT_UTF8,
  ]);
  const items = await importFolder('jsonl', { 'm.jsonl': manifest, 'a.png': 'PNG', 'clips/b.wav': 'WAV' });
  assert.deepEqual(
    items.map((i) => [i.source, i.kind ?? i.code, i.captions ?? null]),
    [
      ['a.png', 'image', ['first']],
      ['clips/b.wav', 'audio', ['beep', 'a beep']],
      ['m.jsonl:4', 'invalid_record', null],
      ['m.jsonl:5', 'invalid_record', null],
      ['m.jsonl:6', 'invalid_caption', null],
      ['m.jsonl:7', 'invalid_caption', null],
    ],
  );
  assert.deepEqual(items[0].meta, { source: 'web' });
});

test('AudioCaps CSV: rows merged per file, found by youtube id or audiocap id', async () => {
  const csv = [
    'audiocap_id,youtube_id,start_time,caption',
    '91139,r1nicOVtvkQ,130,"A woman talks, then a bird sings"',
    '91140,r1nicOVtvkQ,130,Birds chirp',
    '58146,other,0,"Quoted ""words"" inside"',
    '7,nothere,0,lost',
  ].join('\r\n');
  const items = await importFolder('csv', {
    'train.csv': csv,
    'audio/r1nicOVtvkQ.wav': 'W1',
    'audio/58146.flac': 'F2',
  });
  assert.deepEqual(
    items.map((i) => [i.source, i.code ?? i.captions]),
    [
      ['audio/r1nicOVtvkQ.wav', ['A woman talks, then a bird sings', 'Birds chirp']],
      ['audio/58146.flac', ['Quoted "words" inside']],
      ['train.csv:5', 'missing_media'],
    ],
  );
  assert.deepEqual(items[0].meta, {
    youtubeId: 'r1nicOVtvkQ',
    startTime: 130,
    audiocapIds: ['91139', '91140'],
  });
});

test('Clotho CSV: five caption columns, multi-line quoted caption, a non-UTF-8 row fails alone', async () => {
  const csv = Buffer.concat([
    Buffer.from('file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n'),
    Buffer.from('rain.wav,rain falls,"rain on a\nroof",drops,water,storm\n'),
    Buffer.from('wind.wav,'),
    NOT_UTF8,
  ]);
  const items = await importFolder('csv', { 'dev.csv': csv, 'rain.wav': 'R', 'wind.wav': 'W' });
  assert.deepEqual(
    items.map((i) => [i.source, i.code ?? i.captions]),
    [
      ['rain.wav', ['rain falls', 'rain on a\nroof', 'drops', 'water', 'storm']],
      ['dev.csv:3', 'invalid_caption'],
    ],
  );
});

test('a CSV with other columns works when options name them, and fails clearly when they do not', async () => {
  const csv = 'path,text\nx.wav,hello\n';
  const items = await importFolder(
    'csv',
    { 'm.csv': csv, 'x.wav': 'X' },
    { csv: { fileColumn: 'path', captionColumns: ['text'] } },
  );
  assert.deepEqual(items[0].captions, ['hello']);
  await assert.rejects(
    importFolder('csv', { 'm.csv': csv, 'x.wav': 'X' }),
    (err: unknown) => err instanceof SourceError && /expected AudioCaps/.test(err.message),
  );
});

test('a manifest format with no manifest in the source is a clear source error', async () => {
  await assert.rejects(
    importFolder('jsonl', { 'a.jpg': 'A' }),
    (err: unknown) => err instanceof SourceError && /no a manifest \(\*\.jsonl\) found/.test(err.message),
  );
});
