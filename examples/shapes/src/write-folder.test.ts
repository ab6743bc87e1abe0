import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { planTask } from './generate.js';
import { writeTaskFolder } from './write-folder.js';

test('each split folder holds media with caption sidecars; the answer key sits outside them', async () => {
  const plan = planTask({ seed: 3, train: 2, test: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'mmit-proof-folder-'));
  const written = await writeTaskFolder(dir, plan);
  assert.equal(written.files, plan.items.length);
  assert.deepEqual(readdirSync(written.folders.train).sort(), [
    'beeps-0001.txt',
    'beeps-0001.wav',
    'beeps-0002.txt',
    'beeps-0002.wav',
    'shapes-0001.png',
    'shapes-0001.txt',
    'shapes-0002.png',
    'shapes-0002.txt',
  ]);
  const first = plan.items[0];
  assert.equal(
    readFileSync(join(written.folders.train, 'shapes-0001.txt'), 'utf8'),
    `${first.captions.join('\n')}\n`,
  );
  const key = readFileSync(join(dir, 'questions-test.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(key, plan.questions.test);
  assert.ok(!readdirSync(written.folders.test).some((f) => f.endsWith('.jsonl')));
});
