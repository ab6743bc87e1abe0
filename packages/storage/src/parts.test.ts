import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { partsOf } from './parts.js';

async function collect(chunks: (Buffer | string)[], size: number): Promise<string[]> {
  const out: string[] = [];
  for await (const p of partsOf(Readable.from(chunks), size)) out.push(p.toString());
  return out;
}

test('parts are exactly partSize bytes, cut across chunk boundaries, the last shorter', async () => {
  assert.deepEqual(await collect(['abc', 'defgh', 'ij'], 4), ['abcd', 'efgh', 'ij']);
  assert.deepEqual(await collect([Buffer.from('abcdefghij')], 3), ['abc', 'def', 'ghi', 'j']);
  assert.deepEqual(await collect(['ab', 'cd'], 4), ['abcd']);
});

test('an empty stream yields no parts', async () => {
  assert.deepEqual(await collect([], 4), []);
  assert.deepEqual(await collect(['', ''], 4), []);
});
