import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extension, joinSafe, safeRelativePath, stripExtension } from './safe-path.js';
import { EntryError } from './types.js';

const refused = (name: string) =>
  assert.throws(
    () => safeRelativePath(name),
    (err: unknown) => err instanceof EntryError && err.code === 'unsafe_path',
    `expected ${name} to be refused`,
  );

test('relative names are normalised to POSIX form', () => {
  assert.equal(safeRelativePath('a/./b//c.jpg'), 'a/b/c.jpg');
  assert.equal(safeRelativePath('dir\\img.png'), 'dir/img.png');
  assert.equal(safeRelativePath('./x.txt'), 'x.txt');
});

test('climbing, absolute, drive-letter, NUL and empty names are refused', () => {
  for (const name of [
    '../../etc/passwd',
    'a/../../b',
    '/etc/passwd',
    '\\\\server\\share',
    'C:\\win.ini',
    'c:x',
    'a\0b',
    '',
    './',
  ]) {
    refused(name);
  }
});

test('manifest references join onto their folder without escaping it', () => {
  assert.equal(joinSafe('data', 'images/1.jpg'), 'data/images/1.jpg');
  assert.equal(joinSafe('', 'x.jpg'), 'x.jpg');
  assert.throws(() => joinSafe('data', '../secret.jpg'), EntryError);
});

test('extensions are lowercased and stripped from the last dot only', () => {
  assert.equal(extension('a/B.JPG'), 'jpg');
  assert.equal(extension('a.b/noext'), '');
  assert.equal(extension('.hidden'), '');
  assert.equal(stripExtension('a/b.c.txt'), 'a/b.c');
});
