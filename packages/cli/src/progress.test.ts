// The progress line: what a log file receives when stderr is not a terminal (one line at the start,
// at every tenth of the way or every 10 s, one at the end), units and ETAs written out, nothing
// printed as NULL or Infinity, and a terminal bar that starts empty.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, Progress } from './progress.js';

function capture(tty: boolean) {
  const writes: string[] = [];
  let now = 0;
  const progress = new Progress({
    label: 'importing',
    unit: 'items',
    stream: { write: (t: string) => writes.push(t), isTTY: tty, columns: 200 },
    now: () => now,
  });
  return { writes, progress, advance: (ms: number) => (now += ms) };
}

test('formatDuration writes seconds, minutes and hours, and nothing for unknown values', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(45.4), '45s');
  assert.equal(formatDuration(80), '1m20s');
  assert.equal(formatDuration(583), '9m43s');
  assert.equal(formatDuration(7500), '2h05m');
  for (const v of [Number.POSITIVE_INFINITY, Number.NaN, -1, null, undefined])
    assert.equal(formatDuration(v), undefined);
});

test('without a terminal: a line at the start, at each tenth, every 10 s, and at the end', () => {
  const { writes, progress, advance } = capture(false);
  progress.update({ done: 0, total: null, rate: 0 });
  advance(1000);
  progress.update({ done: 0, total: 400, rate: 0 });
  // 400 items at 4 items/s, an update every 250 ms: 400 redraws on a terminal.
  for (let done = 1; done <= 400; done++) {
    advance(250);
    progress.update({ done, total: 400, rate: 4, detail: done < 400 ? 'decoding' : 'publishing' });
  }
  progress.stop();
  assert.deepEqual(writes, [
    'importing: 0 items | 0s elapsed\n',
    // The total became known: the first tenth.
    'importing: 0/400 items (0%) | 1s elapsed\n',
    'importing: 40/400 items (10%) | 4.00 items/s | ETA 1m30s | 11s elapsed | decoding\n',
    'importing: 80/400 items (20%) | 4.00 items/s | ETA 1m20s | 21s elapsed | decoding\n',
    'importing: 120/400 items (30%) | 4.00 items/s | ETA 1m10s | 31s elapsed | decoding\n',
    'importing: 160/400 items (40%) | 4.00 items/s | ETA 1m00s | 41s elapsed | decoding\n',
    'importing: 200/400 items (50%) | 4.00 items/s | ETA 50s | 51s elapsed | decoding\n',
    'importing: 240/400 items (60%) | 4.00 items/s | ETA 40s | 1m01s elapsed | decoding\n',
    'importing: 280/400 items (70%) | 4.00 items/s | ETA 30s | 1m11s elapsed | decoding\n',
    'importing: 320/400 items (80%) | 4.00 items/s | ETA 20s | 1m21s elapsed | decoding\n',
    'importing: 360/400 items (90%) | 4.00 items/s | ETA 10s | 1m31s elapsed | decoding\n',
    'importing: 400/400 items (100%) | 4.00 items/s | 1m41s elapsed | publishing\n',
  ]);
});

test('without a terminal, a slow job still prints a line every 10 s', () => {
  const { writes, progress, advance } = capture(false);
  for (let done = 0; done <= 30; done++) {
    progress.update({ done, total: 1000, rate: 0.2 });
    advance(5000);
  }
  // 150 s at 0.2 items/s: 3% done, no tenth crossed; one line per 10 s after the first.
  assert.equal(writes.length, 16);
  assert.equal(writes[1], 'importing: 2/1000 items (0%) | 0.20 items/s | ETA 1h23m | 10s elapsed\n');
  for (const line of writes) assert.doesNotMatch(line, /NULL|Inf|NaN|undefined/i);
});

test('on a terminal the bar starts empty, stays empty without a total, and redraws in place', () => {
  const { writes, progress, advance } = capture(true);
  progress.update({ done: 0, total: 0, rate: 0 });
  advance(200);
  progress.update({ done: 12, total: null, rate: 6 });
  advance(200);
  progress.update({ done: 50, total: 100, rate: 5, etaSec: 10 });
  progress.stop();
  assert.deepEqual(writes, [
    '\r\x1b[2Kimporting [------------------------] 0 items',
    '\r\x1b[2Kimporting [------------------------] 12 items | 6.00 items/s',
    '\r\x1b[2Kimporting [############------------] 50/100 items (50%) | 5.00 items/s | ETA 10s',
    '\r\x1b[2Kimporting [############------------] 50/100 items (50%) | 5.00 items/s | ETA 10s',
    '\n',
  ]);
});
