// Hugging Face imagefolder/audiofolder trees written by the test: metadata.jsonl and metadata.csv,
// splits as subfolders, in a folder (random access) and in a tar (streamed), and every bad row of
// docs/import-formats.md failing alone.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { makeTar } from '../testing/archives.js';
import { collect, NOT_UTF8, removeFolder, tempFolder } from '../testing/collect.js';
import { importEntries, openLocalSource, SourceError } from './index.js';
import { archiveStreamTree } from './sources.js';

const folders: string[] = [];
after(async () => Promise.all(folders.map(removeFolder)));

async function importFolder(files: Record<string, Buffer | string>, options = {}) {
  const root = await tempFolder(files);
  folders.push(root);
  const { tree, manifest } = await openLocalSource(root, 'hf-folder');
  return collect(importEntries('hf-folder', tree, { ...options, ...(manifest ? { manifest } : {}) }));
}

async function importTar(files: Record<string, Buffer | string>, options = {}) {
  const tar = await makeTar(Object.entries(files).map(([name, data]) => ({ name, data })));
  const tree = await archiveStreamTree('hf.tar', async () =>
    (await import('node:stream')).Readable.from([tar]),
  );
  return collect(importEntries('hf-folder', tree, options));
}

const jsonl = (...rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

const splits = {
  'train/metadata.jsonl': jsonl(
    { file_name: 'a.png', text: 'A red square.', license: 'cc0' },
    { file_name: 'b.png', text: ['Two lines.', 'A second caption.'] },
  ),
  'train/a.png': 'A',
  'train/b.png': 'B',
  'validation/metadata.csv':
    'file_name,caption,source\nc.wav,Rain on a roof,field\n"d.wav","Wind, then rain",field\n',
  'validation/c.wav': 'C',
  'validation/d.wav': 'D',
};

test('hf-folder: splits as subfolders, jsonl and csv metadata, other columns kept', async () => {
  for (const items of [await importFolder(splits), await importTar(splits)]) {
    assert.deepEqual(
      items.map((i) => [i.source, i.kind, i.captions, i.meta?.split, i.text]),
      [
        ['train/a.png', 'image', ['A red square.'], 'train', 'A'],
        ['train/b.png', 'image', ['Two lines.', 'A second caption.'], 'train', 'B'],
        ['validation/c.wav', 'audio', ['Rain on a roof'], 'validation', 'C'],
        ['validation/d.wav', 'audio', ['Wind, then rain'], 'validation', 'D'],
      ],
    );
    assert.equal(items[0].meta?.license, 'cc0');
    assert.equal(items[2].meta?.source, 'field');
  }
});

test('hf-folder: one metadata at the root naming files in split folders', async () => {
  const items = await importFolder({
    'metadata.jsonl': jsonl(
      { file_name: 'train/x.jpg', caption: 'x' },
      { file_name: 'test/y.jpg', caption: 'y' },
    ),
    'train/x.jpg': 'X',
    'test/y.jpg': 'Y',
  });
  assert.deepEqual(
    items.map((i) => [i.source, i.captions]),
    [
      ['train/x.jpg', ['x']],
      ['test/y.jpg', ['y']],
    ],
  );
});

test('hf-folder: every bad row fails alone, with the row and the reason', async () => {
  const files = {
    'metadata.jsonl': Buffer.concat([
      Buffer.from(
        jsonl(
          { file_name: 'ok.png', text: 'fine' },
          { text: 'no file name' },
          { file_name: 'gone.png', text: 'the file is not there' },
          { file_name: 42, text: 'wrong type of file_name' },
          { file_name: 'num.png', text: 7 },
          { file_name: 'empty.png', text: '' },
          { file_name: '../../etc/passwd', text: 'escape' },
        ),
      ),
      Buffer.from('{"file_name": "bad.png", "text": "'),
      NOT_UTF8.subarray(0, 4),
      Buffer.from('"}\nnot json\n'),
    ]),
    'ok.png': 'OK',
    'num.png': 'N',
    'empty.png': 'E',
    'bad.png': 'B',
    'stray.png': 'nobody names me',
  };
  for (const items of [await importFolder(files), await importTar(files)]) {
    const byWhere = Object.fromEntries(items.map((i) => [i.source, i.code ?? 'ok']));
    assert.deepEqual(byWhere, {
      'ok.png': 'ok',
      'metadata.jsonl:2': 'invalid_record',
      'metadata.jsonl:3': 'missing_media',
      'metadata.jsonl:4': 'invalid_record',
      'metadata.jsonl:5': 'invalid_caption',
      'metadata.jsonl:6': 'missing_caption',
      'metadata.jsonl:7': 'unsafe_path',
      'metadata.jsonl:8': 'invalid_caption',
      'metadata.jsonl:9': 'invalid_record',
      // Its row could not be read, so nothing names it: it is reported rather than left out.
      'bad.png': 'invalid_record',
      'stray.png': 'invalid_record',
    });
    const detail = (where: string) => items.find((i) => i.source === where)?.detail ?? '';
    assert.match(detail('metadata.jsonl:2'), /no file_name/);
    assert.match(detail('metadata.jsonl:3'), /gone\.png/);
    assert.match(detail('metadata.jsonl:4'), /file_name must be a string, got number/);
    assert.match(detail('metadata.jsonl:5'), /column 'text' must hold a string/);
    assert.match(detail('stray.png'), /no row of the metadata names it/);
    // Every row is counted once: nothing lost, nothing doubled.
    assert.equal(items.length, 11);
    assert.deepEqual(
      items.map((i) => i.index),
      items.map((_, n) => n),
    );
  }
});

test('hf-folder: a metadata file without a caption column, or no metadata, stops the import', async () => {
  await assert.rejects(
    importFolder({ 'metadata.jsonl': jsonl({ file_name: 'a.png', label: 3 }), 'a.png': 'A' }),
    (err: Error) =>
      err instanceof SourceError &&
      /no caption column/.test(err.message) &&
      /\[file_name, label\]/.test(err.message),
  );
  await assert.rejects(
    importFolder(
      { 'metadata.jsonl': jsonl({ file_name: 'a.png', label: 'x' }), 'a.png': 'A' },
      {
        columns: { captions: ['description'] },
      },
    ),
    /caption column\(s\) description not found/,
  );
  await assert.rejects(importFolder({ 'a.png': 'A' }), /no metadata\.jsonl or metadata\.csv found/);
  // A named caption column that exists is used.
  const items = await importFolder(
    { 'metadata.csv': 'file_name,label\na.png,a cat\n', 'a.png': 'A' },
    { columns: { captions: ['label'] } },
  );
  assert.deepEqual(items[0].captions, ['a cat']);
});
