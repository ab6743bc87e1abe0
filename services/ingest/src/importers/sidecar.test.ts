import assert from 'node:assert/strict';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeTar, makeZip } from '../testing/archives.js';
import { collect, NOT_UTF8, removeFolder, tempFolder } from '../testing/collect.js';
import { importEntries, openLocalSource } from './index.js';

const folders: string[] = [];
after(async () => Promise.all(folders.map(removeFolder)));

async function folderWith(files: Record<string, Buffer | string>): Promise<string> {
  const root = await tempFolder(files);
  folders.push(root);
  return root;
}

const sample = {
  'a.jpg': 'JPEG-A',
  'a.txt': 'a red circle\n\n  a round red shape  \r\n',
  'sub/b.wav': 'WAV-B',
  'sub/b.txt': 'two beeps',
  'c.png': 'PNG-C',
  'd.pdf': 'PDF-D',
  'd.txt': 'a document that is not media',
  'notes.txt': 'a caption file with no media beside it',
  '.DS_Store': 'junk',
  'bad.jpg': 'JPEG-BAD',
  'bad.txt': NOT_UTF8,
};

test('a folder: media with sidecars, multi-line captions, audio, uncaptioned media, unknown types with captions', async () => {
  const root = await folderWith(sample);
  const { tree } = await openLocalSource(root, 'folder');
  const items = await collect(importEntries('folder', tree));
  assert.deepEqual(
    items.map((i) => [i.index, i.source, i.kind ?? i.code, i.captions ?? null]),
    [
      [0, 'a.jpg', 'image', ['a red circle', 'a round red shape']],
      [1, 'bad.jpg', 'invalid_caption', null],
      [2, 'c.png', 'image', []],
      [3, 'd.pdf', 'image', ['a document that is not media']],
      [4, 'sub/b.wav', 'audio', ['two beeps']],
    ],
  );
  assert.equal(items[0].text, 'JPEG-A');
  assert.match(items[1].detail ?? '', /bad\.txt is not valid UTF-8/);
});

test('a folder: symlinks are skipped, even when they point at media', async () => {
  const root = await folderWith({ 'real.jpg': 'X', 'real.txt': 'cap' });
  const outside = await folderWith({ 'secret.jpg': 'SECRET' });
  await symlink(join(outside, 'secret.jpg'), join(root, 'link.jpg'));
  await writeFile(join(root, 'link.txt'), 'caption for a link');
  const { tree } = await openLocalSource(root, 'folder');
  const items = await collect(importEntries('folder', tree));
  assert.deepEqual(
    items.map((i) => i.source),
    ['real.jpg'],
  );
});

const hostile = [
  { name: 'b.txt', data: 'caption before its media' },
  { name: 'b.jpg', data: 'JPEG-B' },
  { name: '../../etc/passwd', data: 'root:x:0:0' },
  { name: '/abs/evil.jpg', data: 'EVIL' },
  { name: 'link.jpg', symlinkTo: '/etc/passwd' },
  { name: 'link.txt', data: 'caption of a symlink' },
  { name: 'a.jpg', data: 'JPEG-A' },
  { name: 'a.txt', data: NOT_UTF8 },
];

const expectHostile = (items: Awaited<ReturnType<typeof collect>>) => {
  const bySource = new Map(items.map((i) => [i.source, i]));
  assert.deepEqual(bySource.get('b.jpg')?.captions, ['caption before its media']);
  assert.equal(bySource.get('b.jpg')?.text, 'JPEG-B');
  assert.equal(bySource.get('../../etc/passwd')?.code, 'unsafe_path');
  assert.equal(bySource.get('/abs/evil.jpg')?.code, 'unsafe_path');
  assert.equal(bySource.get('a.jpg')?.code, 'invalid_caption');
  assert.equal(bySource.has('link.jpg'), false, 'symlink entries are ignored');
  assert.equal(items.length, 4);
  assert.deepEqual(
    items.map((i) => i.index),
    [0, 1, 2, 3],
  );
};

test('a tar archive: captions found in any order, unsafe names refused alone, symlinks ignored', async () => {
  const root = await folderWith({ 'x.tar': await makeTar(hostile) });
  const { tree } = await openLocalSource(join(root, 'x.tar'), 'tar');
  expectHostile(await collect(importEntries('tar', tree)));
});

test('a gzipped tar named .bin is still read as a tar', async () => {
  const root = await folderWith({ 'x.bin': await makeTar(hostile, { gzip: true }) });
  const { tree } = await openLocalSource(join(root, 'x.bin'), 'tar');
  expectHostile(await collect(importEntries('tar', tree)));
});

test('a zip archive: the same rules through the central directory', async () => {
  const root = await folderWith({ 'x.zip': makeZip(hostile) });
  const { tree } = await openLocalSource(join(root, 'x.zip'), 'zip');
  expectHostile(await collect(importEntries('zip', tree)));
  await tree.close?.();
});

test('resumeAt skips entries already handled; maxEntryBytes refuses big entries without reading them', async () => {
  const root = await folderWith({ 'x.tar': await makeTar(hostile) });
  const { tree } = await openLocalSource(join(root, 'x.tar'), 'tar');
  const all = await collect(importEntries('tar', tree));
  const resumed = await collect(importEntries('tar', tree, { resumeAt: 2 }));
  assert.deepEqual(resumed, all.slice(2));
  const limited = await collect(importEntries('tar', tree, { maxEntryBytes: 3 }));
  assert.equal(limited.find((i) => i.source === 'b.jpg')?.code, 'payload_too_large');
});

test('a tar of 10,000 entries streams through with every entry accounted for', async () => {
  const entries = [];
  for (let i = 0; i < 5000; i++) {
    const key = `img/${String(i).padStart(5, '0')}`;
    entries.push({ name: `${key}.jpg`, data: `J${i}` }, { name: `${key}.txt`, data: `caption ${i}` });
  }
  const root = await folderWith({ 'big.tar': await makeTar(entries) });
  const { tree } = await openLocalSource(join(root, 'big.tar'), 'tar');
  let count = 0;
  for await (const item of importEntries('tar', tree)) {
    assert.equal(item.type, 'entry');
    if (item.type !== 'entry') continue;
    assert.equal((await item.open()).toString(), `J${item.index}`);
    assert.deepEqual(item.captions, [`caption ${item.index}`]);
    count++;
  }
  assert.equal(count, 5000);
});
