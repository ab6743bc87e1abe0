import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueueAbortedError, QueueFullError, RequestQueue } from './request-queue.js';

describe('RequestQueue', () => {
  it('runs up to the concurrency, queues up to the bound, refuses beyond it', async () => {
    const queue = new RequestQueue(1, 1);
    const first = await queue.acquire();
    const second = queue.acquire();
    assert.equal(queue.active, 1);
    assert.equal(queue.waiting, 1);
    await assert.rejects(queue.acquire(), QueueFullError);
    first.release();
    const granted = await second;
    assert.equal(queue.active, 1);
    assert.equal(queue.waiting, 0);
    granted.release();
    granted.release(); // twice is harmless
    assert.equal(queue.active, 0);
  });

  it('drops a waiter whose request is aborted without giving it a slot', async () => {
    const queue = new RequestQueue(1, 4);
    const held = await queue.acquire();
    const controller = new AbortController();
    const waiting = queue.acquire(controller.signal);
    controller.abort();
    await assert.rejects(waiting, QueueAbortedError);
    assert.equal(queue.waiting, 0);
    held.release();
    assert.equal(queue.active, 0);
  });

  it('admits synchronously: places are counted from admission, before any slot is taken', async () => {
    const queue = new RequestQueue(1, 1);
    const a = queue.admit();
    const b = queue.admit();
    // Nobody generates yet (both may still be decoding), but the line is full.
    assert.equal(queue.active, 0);
    assert.throws(() => queue.admit(), QueueFullError);
    const slotA = await a.slot();
    const slotB = b.slot();
    assert.equal(queue.active, 1);
    a.release();
    await slotB;
    assert.equal(queue.active, 1);
    b.release();
    b.release(); // twice is harmless
    assert.equal(queue.active, 0);
    assert.equal(queue.waiting, 0);
    queue.admit().release(); // a place given back without a slot frees it
    assert.equal(queue.waiting, 0);
    void slotA;
  });

  it('tryAdmit answers undefined on a full line, without an error, and admits again once a place is given back', () => {
    const queue = new RequestQueue(1, 0);
    const only = queue.tryAdmit();
    assert.ok(only);
    assert.equal(queue.tryAdmit(), undefined);
    only.release();
    const again = queue.tryAdmit();
    assert.ok(again);
    again.release();
  });
});
