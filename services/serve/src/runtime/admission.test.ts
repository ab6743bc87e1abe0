// The refusal path over raw sockets, where what the server reads and when it closes can be seen.
// A request that has sent only its head holds the only place (admission happens at the head);
// a second one that announces a 10 MB body and sends none of it gets its 429 (OpenAI's shape,
// Retry-After) at once, and the server closes the connection rather than waiting to drain a body
// it will never use.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixturesDir } from '../../../../test/paths.js';
import { type ServeHarness, startServeHarness } from '../testing/harness.js';
import { postHeadOnly } from '../testing/head-only.js';

describe('admission before the body', () => {
  let busy: ServeHarness;

  before(async () => {
    busy = await startServeHarness({
      MMIT_SERVE_BASE_MODELS: `tiny-llama=${join(fixturesDir, 'tiny-llama')}`,
      MMIT_SERVE_MAX_QUEUE: '0',
      MMIT_SERVE_RETRY_AFTER_SEC: '7',
    });
  });

  after(async () => {
    await busy.close();
  });

  it('refuses a request with a full line before its body arrives, and closes the connection', async () => {
    const url = `${busy.url}/v1/chat/completions`;
    const holder = postHeadOnly(url, 100);
    while (busy.serve.queue.waiting + busy.serve.queue.active === 0)
      await new Promise((r) => setTimeout(r, 10));
    try {
      const response = await postHeadOnly(url, 10_000_000).closedWith;
      const [head, body] = response.split('\r\n\r\n');
      assert.match(head, /^HTTP\/1\.1 429 /);
      assert.match(head, /\r\nretry-after: 7\r\n/i);
      assert.match(head, /\r\nconnection: close\r\n/i);
      assert.deepEqual(JSON.parse(body).error, {
        message: 'the server is busy: 1 requests are already waiting; retry later',
        type: 'rate_limit_error',
        param: null,
        code: 'queue_full',
      });
      const metrics = await (await fetch(`${busy.url}/metrics`)).text();
      assert.match(metrics, /serve_requests_total\{[^}]*outcome="rate_limited"[^}]*\} 1\b/);
    } finally {
      holder.socket.destroy();
    }
    // The holder's place comes back when its connection closes.
    await once(holder.socket, 'close');
    const deadline = Date.now() + 5000;
    while (busy.serve.queue.waiting > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(busy.serve.queue.waiting, 0, 'the place is free again');
  });
});
