import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProgressTracker } from './progress.js';

function clock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    tick: (ms: number) => {
      t += ms;
    },
  };
}

test('rate is units per second over the window, and ETA follows from it', () => {
  const c = clock();
  const p = new ProgressTracker({ total: 100 }, c.now, 10_000);
  for (let i = 0; i < 10; i++) {
    c.tick(1_000);
    p.advance(2);
  }
  const s = p.snapshot();
  assert.equal(s.done, 20);
  assert.equal(s.rate, 2);
  assert.equal(s.etaSec, 40);
});

test('the window forgets old speed: a job that speeds up shows the new rate', () => {
  const c = clock();
  const p = new ProgressTracker({ total: 10_000 }, c.now, 5_000);
  for (let i = 0; i < 20; i++) {
    c.tick(1_000);
    p.advance(1);
  }
  for (let i = 0; i < 10; i++) {
    c.tick(1_000);
    p.advance(100);
  }
  assert.equal(p.snapshot().rate, 100);
});

test('a stalled job has a falling rate; an unknown total has no ETA; failures count apart', () => {
  const c = clock();
  const p = new ProgressTracker({}, c.now, 10_000);
  c.tick(1_000);
  p.advance(10, 2);
  const before = p.snapshot();
  assert.equal(before.etaSec, null);
  assert.equal(before.failed, 2);
  c.tick(9_000);
  assert.ok(p.snapshot().rate < before.rate);
});

test('set() jumps without counting the jump as throughput; done equals total gives ETA 0', () => {
  const c = clock();
  const p = new ProgressTracker({ total: 50 }, c.now);
  c.tick(1_000);
  p.set(40);
  assert.equal(p.snapshot().rate, 0);
  c.tick(1_000);
  p.advance(10);
  const s = p.snapshot();
  assert.equal(s.rate, 10);
  assert.equal(s.etaSec, 0);
});
