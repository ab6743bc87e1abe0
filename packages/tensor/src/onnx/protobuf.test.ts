import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtoMessage } from './protobuf.js';

const hex = (m: ProtoMessage) => Buffer.from(m.toBytes()).toString('hex');

test('varints, including negative int64 as ten bytes', () => {
  assert.equal(hex(new ProtoMessage().varint(1, 150)), '089601');
  assert.equal(hex(new ProtoMessage().varint(1, -1)), '08ffffffffffffffffff01');
  assert.equal(hex(new ProtoMessage().varint(2, 2n ** 40n)), '108080808080 20'.replace(' ', ''));
});

test('strings, floats and nested messages are framed with their lengths', () => {
  const inner = new ProtoMessage().string(1, 'ab').float(2, 1);
  assert.equal(hex(inner), '0a0261621500 00803f'.replace(' ', ''));
  const outer = new ProtoMessage().message(3, inner).varint(4, 1);
  assert.equal(hex(outer), `1a09${hex(inner)}2001`);
  assert.equal(outer.byteLength, 2 + 9 + 2);
});

test('large payloads are referenced, not copied', () => {
  const payload = new Uint8Array(1000).fill(7);
  const m = new ProtoMessage().bytes(9, payload);
  const outer = new ProtoMessage().message(1, m);
  assert.ok(outer.chunks.includes(payload));
  assert.equal(outer.toBytes().byteLength, outer.byteLength);
  assert.equal(outer.byteLength, 1 + 2 + 1 + 2 + 1000);
});
