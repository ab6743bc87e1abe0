import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBlock, readEventStream } from './event-stream.js';

test('a block gives its event name and data; heartbeats and empty blocks give nothing', () => {
  assert.deepEqual(parseBlock('event: job\nid: 1\ndata: {"a":1}'), { event: 'job', data: '{"a":1}' });
  assert.deepEqual(parseBlock('data: [DONE]'), { event: 'message', data: '[DONE]' });
  assert.deepEqual(parseBlock('data: one\ndata: two'), { event: 'message', data: 'one\ntwo' });
  assert.equal(parseBlock(': heartbeat'), undefined);
});

test('messages split across chunks (and CRLF line ends) are put back together', async () => {
  const chunks = [
    'event: step\r\nda',
    'ta: {"step":1}\r\n\r\n: heartbeat\n\nevent: st',
    'ep\ndata: {"step":2}\n\n',
  ];
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
      controller.close();
    },
  });
  const seen = [];
  for await (const m of readEventStream(new Response(body))) seen.push(m);
  assert.deepEqual(seen, [
    { event: 'step', data: '{"step":1}' },
    { event: 'step', data: '{"step":2}' },
  ]);
});
