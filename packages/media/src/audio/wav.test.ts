import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeFailedError, UnsupportedMediaTypeError } from '../errors.js';
import { decodeWav, encodeWav } from './wav.js';

/** Builds a RIFF/WAVE file from raw chunks, so tests can make layouts our encoder never writes. */
function riff(chunks: { id: string; body: Uint8Array; declaredSize?: number }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const { id, body, declaredSize } of chunks) {
    const header = new Uint8Array(8);
    header.set(Buffer.from(id, 'latin1'));
    new DataView(header.buffer).setUint32(4, declaredSize ?? body.length, true);
    parts.push(header, body);
    if (body.length % 2 === 1 && declaredSize === undefined) parts.push(new Uint8Array(1));
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(12 + total);
  out.set(Buffer.from('RIFF', 'latin1'));
  new DataView(out.buffer).setUint32(4, 4 + total, true);
  out.set(Buffer.from('WAVE', 'latin1'), 8);
  let at = 12;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function fmtChunk(
  tag: number,
  channels: number,
  rate: number,
  bits: number,
  extensibleSubformat?: number,
): Uint8Array {
  const body = new Uint8Array(extensibleSubformat === undefined ? 16 : 40);
  const view = new DataView(body.buffer);
  const blockAlign = (channels * bits) / 8;
  view.setUint16(0, tag, true);
  view.setUint16(2, channels, true);
  view.setUint32(4, rate, true);
  view.setUint32(8, rate * blockAlign, true);
  view.setUint16(12, blockAlign, true);
  view.setUint16(14, bits, true);
  if (extensibleSubformat !== undefined) {
    view.setUint16(16, 22, true); // cbSize
    view.setUint16(18, bits, true); // valid bits
    view.setUint32(20, channels === 2 ? 0b11 : 0b100, true); // channel mask
    view.setUint16(24, extensibleSubformat, true); // GUID starts with the codec tag
    body.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }
  return body;
}

function samples(
  bytesPerSample: number,
  write: (view: DataView, at: number, value: number) => void,
  values: number[],
) {
  const body = new Uint8Array(values.length * bytesPerSample);
  const view = new DataView(body.buffer);
  for (const [i, v] of values.entries()) write(view, i * bytesPerSample, v);
  return body;
}

describe('decodeWav', () => {
  it('round-trips encodeWav 16-bit PCM exactly for int16 values, and float32 exactly', () => {
    const left = Float32Array.from([0, 0.5, -0.5, -1, 32767 / 32768, 1 / 32768]);
    const right = Float32Array.from([0.25, -0.25, 0, 0.125, -0.125, 0]);
    const pcm = decodeWav(encodeWav([left, right], 22_050, 'pcm16'));
    assert.equal(pcm.sampleRate, 22_050);
    assert.equal(pcm.channels, 2);
    assert.equal(pcm.durationSec, 6 / 22_050);
    assert.deepEqual([...pcm.channelData[0]], [...left]);
    assert.deepEqual([...pcm.channelData[1]], [...right]);
    const float = decodeWav(encodeWav(Float32Array.from([0.1, -0.7, 1.5]), 8000, 'float32'));
    assert.deepEqual([...float.channelData[0]], [...Float32Array.from([0.1, -0.7, 1.5])]);
  });

  it('clips out-of-range samples when writing 16-bit', () => {
    const pcm = decodeWav(encodeWav(Float32Array.from([2, -2]), 16_000));
    assert.deepEqual([...pcm.channelData[0]], [32767 / 32768, -1]);
  });

  it('reads 8-bit unsigned PCM', () => {
    const body = Uint8Array.from([128, 255, 0, 192]);
    const pcm = decodeWav(
      riff([
        { id: 'fmt ', body: fmtChunk(1, 1, 8000, 8) },
        { id: 'data', body },
      ]),
    );
    assert.deepEqual([...pcm.channelData[0]], [0, 127 / 128, -1, 0.5]);
  });

  it('reads 24-bit PCM, sign included', () => {
    const body = samples(
      3,
      (view, at, v) => {
        view.setUint16(at, v & 0xffff, true);
        view.setInt8(at + 2, v >> 16);
      },
      [0, 4_194_304, -8_388_608, -1],
    );
    const pcm = decodeWav(
      riff([
        { id: 'fmt ', body: fmtChunk(1, 1, 48_000, 24) },
        { id: 'data', body },
      ]),
    );
    assert.deepEqual([...pcm.channelData[0]], [0, 0.5, -1, -1 / 8_388_608].map(Math.fround));
  });

  it('reads 32-bit integer and 64-bit float PCM', () => {
    const int32 = samples(4, (v, at, x) => v.setInt32(at, x, true), [1 << 30, -(2 ** 31)]);
    const a = decodeWav(
      riff([
        { id: 'fmt ', body: fmtChunk(1, 1, 16_000, 32) },
        { id: 'data', body: int32 },
      ]),
    );
    assert.deepEqual([...a.channelData[0]], [0.5, -1]);
    const f64 = samples(8, (v, at, x) => v.setFloat64(at, x, true), [0.25, -0.75]);
    const b = decodeWav(
      riff([
        { id: 'fmt ', body: fmtChunk(3, 1, 16_000, 64) },
        { id: 'data', body: f64 },
      ]),
    );
    assert.deepEqual([...b.channelData[0]], [0.25, -0.75]);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE and skips odd-sized and unknown chunks', () => {
    const data = samples(2, (v, at, x) => v.setInt16(at, x, true), [16_384, -16_384, 8192, -8192]);
    const bytes = riff([
      { id: 'JUNK', body: new Uint8Array(3) }, // odd size: followed by a pad byte
      { id: 'fmt ', body: fmtChunk(0xfffe, 2, 44_100, 16, 1) },
      { id: 'LIST', body: new Uint8Array(11) },
      { id: 'data', body: data },
    ]);
    const pcm = decodeWav(bytes);
    assert.equal(pcm.channels, 2);
    assert.equal(pcm.sampleRate, 44_100);
    assert.deepEqual([...pcm.channelData[0]], [0.5, 0.25]);
    assert.deepEqual([...pcm.channelData[1]], [-0.5, -0.25]);
  });

  it('refuses a data chunk cut short', () => {
    const bytes = encodeWav(new Float32Array(100), 16_000);
    assert.throws(
      () => decodeWav(bytes.subarray(0, 150)),
      (e: unknown) => {
        assert.ok(e instanceof DecodeFailedError);
        assert.equal(e.code, 'decode_failed');
        assert.match(e.message, /truncated: data chunk declares 200 bytes but only 106 follow/);
        return true;
      },
    );
  });

  it('accepts the streaming "unknown size" data chunk', () => {
    const data = samples(2, (v, at, x) => v.setInt16(at, x, true), [16_384, 8192]);
    const bytes = riff([
      { id: 'fmt ', body: fmtChunk(1, 1, 16_000, 16) },
      { id: 'data', body: data, declaredSize: 0xffffffff },
    ]);
    assert.deepEqual([...decodeWav(bytes).channelData[0]], [0.5, 0.25]);
  });

  it('names unsupported codecs and sample widths', () => {
    const alaw = riff([
      { id: 'fmt ', body: fmtChunk(6, 1, 8000, 8) },
      { id: 'data', body: new Uint8Array(4) },
    ]);
    assert.throws(
      () => decodeWav(alaw),
      (e: unknown) => e instanceof UnsupportedMediaTypeError && /A-law/.test(e.message),
    );
    const extensibleAlaw = riff([
      { id: 'fmt ', body: fmtChunk(0xfffe, 1, 8000, 8, 6) },
      { id: 'data', body: new Uint8Array(4) },
    ]);
    assert.throws(() => decodeWav(extensibleAlaw), /A-law/);
    const int12 = fmtChunk(1, 1, 8000, 16);
    new DataView(int12.buffer).setUint16(14, 12, true);
    assert.throws(
      () =>
        decodeWav(
          riff([
            { id: 'fmt ', body: int12 },
            { id: 'data', body: new Uint8Array(4) },
          ]),
        ),
      /12-bit int/,
    );
  });

  it('refuses files without fmt or data chunks, or with data before fmt', () => {
    assert.throws(
      () => decodeWav(riff([{ id: 'data', body: new Uint8Array(4) }])),
      /data chunk comes before the fmt chunk/,
    );
    assert.throws(() => decodeWav(riff([{ id: 'fmt ', body: fmtChunk(1, 1, 8000, 16) }])), /no data chunk/);
    assert.throws(() => decodeWav(Buffer.from('RIFF\0\0\0\0WAVX')), /missing RIFF\/WAVE header/);
  });
});
