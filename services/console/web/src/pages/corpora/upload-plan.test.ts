import assert from 'node:assert/strict';
import { test } from 'node:test';
import { archiveFormatOf, batches, planUpload } from './upload-plan.js';

const f = (path: string, size = 10) => ({ path, size });

test('media files pair with same-named .txt sidecars; everything else is listed with a reason', () => {
  const plan = planUpload([
    f('set/cat.jpg'),
    f('set/cat.txt'),
    f('set/dog.PNG'),
    f('set/beep.wav'),
    f('set/beep.txt'),
    f('set/orphan.txt'),
    f('set/notes.md'),
    f('other/cat.txt'),
  ]);
  assert.deepEqual(
    plan.media.map((m) => [m.file.path, m.captionFile?.path]),
    [
      ['set/cat.jpg', 'set/cat.txt'],
      ['set/dog.PNG', undefined],
      ['set/beep.wav', 'set/beep.txt'],
    ],
  );
  assert.deepEqual(
    plan.skipped.map((s) => [s.file.path, s.reason]),
    [
      ['set/orphan.txt', 'caption file without a media file of the same name'],
      ['set/notes.md', 'not an image or audio file'],
      ['other/cat.txt', 'caption file without a media file of the same name'],
    ],
  );
});

test('batches respect both the file count and the byte budget, and never leave one empty', () => {
  const items = [40, 40, 40, 200, 10, 10].map((size, i) => ({ file: f(`${i}.jpg`, size) }));
  const sizes = batches(items, 2, 100).map((b) => b.map((i) => i.file.size));
  assert.deepEqual(sizes, [[40, 40], [40], [200], [10, 10]]);
});

test('archive names suggest their import format', () => {
  assert.equal(archiveFormatOf('Photos.ZIP'), 'zip');
  assert.equal(archiveFormatOf('a.tar.gz'), 'tar');
  assert.equal(archiveFormatOf('a.tgz'), 'tar');
  assert.equal(archiveFormatOf('a.rar'), undefined);
});
