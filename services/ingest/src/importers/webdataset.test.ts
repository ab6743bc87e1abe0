import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeTar } from '../testing/archives.js';
import { collect, removeFolder, tempFolder } from '../testing/collect.js';
import { importEntries, openLocalSource } from './index.js';
import { webdatasetKey } from './webdataset.js';

const folders: string[] = [];
after(async () => Promise.all(folders.map(removeFolder)));

test('keys cut at the first dot of the file name, as webdataset does', () => {
  assert.equal(webdatasetKey('shard/000123.seg.jpg'), 'shard/000123');
  assert.equal(webdatasetKey('a.b/k.txt'), 'a.b/k');
});

test('a folder of shards: key.jpg with key.txt or key.json grouped by key, json kept as metadata', async () => {
  const shard0 = await makeTar([
    { name: '000000.jpg', data: 'J0' },
    { name: '000000.txt', data: 'zero' },
    { name: '000001.json', data: JSON.stringify({ caption: 'one', url: 'http://x/1.jpg', width: 8 }) },
    { name: '000001.jpg', data: 'J1' },
  ]);
  const shard1 = await makeTar([
    { name: '000002.flac', data: 'F2' },
    { name: '000002.json', data: '{broken' },
    { name: '000003.png', data: 'P3' },
  ]);
  const root = await tempFolder({ 'shard-0.tar': shard0, 'shard-1.tar': shard1, 'README.md': 'not a shard' });
  folders.push(root);
  const { tree } = await openLocalSource(root, 'webdataset');
  const items = await collect(importEntries('webdataset', tree));
  assert.deepEqual(
    items.map((i) => [i.index, i.source, i.kind ?? i.code, i.captions ?? null]),
    [
      [0, 'shard-0.tar/000000.jpg', 'image', ['zero']],
      [1, 'shard-0.tar/000001.jpg', 'image', ['one']],
      [2, 'shard-1.tar/000002.flac', 'invalid_record', null],
      [3, 'shard-1.tar/000003.png', 'image', []],
    ],
  );
  assert.deepEqual(items[1].meta, { url: 'http://x/1.jpg', width: 8 });
  assert.equal(items[1].text, 'J1');
});

test('a single shard file is read directly', async () => {
  const root = await tempFolder({
    's.tar': await makeTar([
      { name: 'k.jpg', data: 'K' },
      { name: 'k.txt', data: 'kay' },
    ]),
  });
  folders.push(root);
  const { tree } = await openLocalSource(join(root, 's.tar'), 'webdataset');
  const items = await collect(importEntries('webdataset', tree));
  assert.deepEqual(
    items.map((i) => [i.source, i.captions]),
    [['k.jpg', ['kay']]],
  );
});
