// The refusal path over a raw socket, where what the server reads and when it closes can be seen:
// with every place taken, a request that announces a 10 MB body and sends none of it gets its
// 429 (OpenAI's shape, Retry-After) at once, and the server closes the connection rather than
// waiting to drain a body it will never use.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { fixturesDir } from '../../../../test/paths.js';
import { type ServeHarness, startServeHarness } from '../testing/harness.js';

const llamaDir = join(fixturesDir, 'tiny-llama');

/** Sends only the head of a POST announcing `contentLength` body bytes; all it got once the server closes. */
function headOnly(url: string, contentLength: number): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let response = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open; got so far: ${JSON.stringify(response)}`));
    }, 10_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      response += chunk;
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(response);
    });
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n\r\n`,
    );
  });
}

describe('admission before the body', () => {
  let busy: ServeHarness;

  before(async () => {
    busy = await startServeHarness({
      MMIT_SERVE_BASE_MODELS: `tiny-llama=${llamaDir}`,
      MMIT_SERVE_MAX_QUEUE: '0',
      MMIT_SERVE_RETRY_AFTER_SEC: '7',
      MMIT_SERVE_MAX_TOKENS: '5000',
    });
  });

  after(async () => {
    await busy.close();
  });

  it('refuses a request with a full line before its body arrives, and closes the connection', async () => {
    const openai = new OpenAI({ baseURL: `${busy.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    const long = await openai.chat.completions.create({
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'Go on.' }],
      max_tokens: 4000,
      stream: true,
    });
    const iterator = long[Symbol.asyncIterator]();
    await iterator.next(); // the only place is held now
    try {
      const response = await headOnly(busy.url, 10_000_000);
      const [head, body] = response.split('\r\n\r\n');
      assert.match(head, /^HTTP\/1\.1 429 /);
      assert.match(head, /\r\nretry-after: 7\r\n/i);
      assert.match(head, /\r\nconnection: close\r\n/i);
      assert.deepEqual(JSON.parse(body).error, {
        message: 'the server is busy: 0 requests are already waiting; retry later',
        type: 'rate_limit_error',
        param: null,
        code: 'queue_full',
      });
      const metrics = await (await fetch(`${busy.url}/metrics`)).text();
      assert.match(metrics, /serve_requests_total\{[^}]*outcome="rate_limited"[^}]*\} 1\b/);
    } finally {
      long.controller.abort();
    }
  });
});
