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
});
