// The event file format: crc32c against its published check value, records read back with their
// checksums verified, and a resumed attempt's session start dropping what the earlier one logged after it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  crc32c,
  EventFileError,
  fileVersionEvent,
  readEventFile,
  readScalars,
  scalarsEvent,
  sessionStartEvent,
  tfRecord,
} from './tfevents.js';

test('crc32c gives the Castagnoli check value of "123456789"', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('events read back: file version first, then scalars at large steps; a flipped byte is caught', () => {
  const file = Buffer.concat([
    tfRecord(fileVersionEvent(1700000000.25)),
    tfRecord(scalarsEvent(1700000001.5, 2 ** 40 + 3, { 'train/loss': 2.5, 'train/lr/lora': 1e-4 })),
  ]);
  const events = readEventFile(file);
  assert.deepEqual(events[0], { wallTime: 1700000000.25, step: 0, fileVersion: 'brain.Event:2' });
  assert.equal(events[1].step, 2 ** 40 + 3);
  assert.equal(events[1].scalars?.['train/loss'], 2.5);
  assert.equal(events[1].scalars?.['train/lr/lora'], Math.fround(1e-4));
  const broken = Buffer.from(file);
  broken[broken.length - 6] ^= 1;
  assert.throws(() => readEventFile(broken), EventFileError);
});

test('a session start drops what earlier files logged at or after its step', () => {
  const first = Buffer.concat(
    [fileVersionEvent(1), ...[1, 2, 3, 4, 5].map((s) => scalarsEvent(s, s, { loss: s }))].map(tfRecord),
  );
  const second = Buffer.concat(
    [
      fileVersionEvent(10),
      sessionStartEvent(10, 4),
      ...[4, 6].map((s) => scalarsEvent(10 + s, s, { loss: -s })),
    ].map(tfRecord),
  );
  assert.deepEqual(
    readScalars([first, second]).loss.map((r) => [r.step, r.value]),
    [
      [1, 1],
      [2, 2],
      [3, 3],
      [4, -4],
      [6, -6],
    ],
  );
});
