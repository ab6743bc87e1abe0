import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { extensionMatches, extensionOf, sniffFormat, supportedFormats } from './sniff.js';

const testData = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../test-data/${name}`, import.meta.url)));
const tiny = () => sharp({ create: { width: 8, height: 8, channels: 3, background: '#c03030' } });

/** A minimal ISO-BMFF `ftyp` box with the given major and compatible brands. */
function ftyp(major: string, ...compatible: string[]): Buffer {
  const size = 16 + 4 * compatible.length;
  const box = Buffer.alloc(size + 8);
  box.writeUInt32BE(size, 0);
  box.write(`ftyp${major}`, 4, 'latin1');
  for (const [i, brand] of compatible.entries()) box.write(brand, 16 + 4 * i, 'latin1');
  return box;
}

describe('sniffFormat', () => {
  it('recognises every image format sharp writes, from the bytes alone', async () => {
    const cases = [
      ['jpeg', await tiny().jpeg().toBuffer()],
      ['png', await tiny().png().toBuffer()],
      ['gif', await tiny().gif().toBuffer()],
      ['webp', await tiny().webp().toBuffer()],
      ['tiff', await tiny().tiff().toBuffer()],
      ['avif', await tiny().avif().toBuffer()],
    ] as const;
    for (const [format, bytes] of cases) {
      const info = sniffFormat(bytes);
      assert.equal(info?.format, format);
      assert.equal(info?.kind, 'image');
      assert.equal(info?.supported, true);
    }
    const bigEndianTiff = Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]);
    assert.equal(sniffFormat(bigEndianTiff)?.format, 'tiff');
  });

  it('recognises the audio fixtures made by real encoders', () => {
    assert.equal(sniffFormat(testData('tone-44k1-stereo.flac'))?.format, 'flac');
    assert.equal(sniffFormat(testData('tone-44k1-stereo.mp3'))?.format, 'mp3'); // bare frame sync, no ID3
    assert.equal(sniffFormat(testData('tone-48k-mono.opus'))?.format, 'ogg-opus');
    assert.equal(sniffFormat(testData('tone-48k-stereo-24bit.wav'))?.format, 'wav');
    const vorbis = sniffFormat(testData('vorbis-22k-mono.ogg'));
    assert.equal(vorbis?.format, 'ogg-vorbis');
    assert.equal(vorbis?.supported, false);
  });

  it('looks past an ID3v2 tag: MP3 after it is mp3, FLAC after it is flac', () => {
    // ID3v2.3 header with a 4-byte body (syncsafe size 0x00000004).
    const id3 = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    assert.equal(sniffFormat(Buffer.concat([id3, testData('tone-44k1-stereo.mp3')]))?.format, 'mp3');
    assert.equal(sniffFormat(Buffer.concat([id3, testData('tone-44k1-stereo.flac')]))?.format, 'flac');
  });

  it('tells AVIF from HEIC by brand and marks HEIC and BMP unsupported', () => {
    assert.equal(sniffFormat(ftyp('mif1', 'mif1', 'avif'))?.format, 'avif');
    const heic = sniffFormat(ftyp('heic', 'mif1', 'heic'));
    assert.equal(heic?.format, 'heic');
    assert.equal(heic?.supported, false);
    const bmp = Buffer.alloc(54);
    bmp.write('BM', 0, 'latin1');
    assert.equal(sniffFormat(bmp)?.format, 'bmp');
    assert.equal(sniffFormat(bmp)?.supported, false);
  });

  it('returns null for text, empty input and near-misses', () => {
    assert.equal(sniffFormat(new Uint8Array(0)), null);
    assert.equal(sniffFormat(Buffer.from('{"caption": "a red square"}')), null);
    assert.equal(sniffFormat(Buffer.from([0xff, 0xd8])), null); // too short for a JPEG marker
    // AAC in ADTS shares the 0xFFF sync word but has layer bits 00, which MPEG audio reserves.
    assert.equal(sniffFormat(Buffer.from([0xff, 0xf1, 0x50, 0x80, 0x00, 0x1f, 0xfc])), null);
    assert.equal(sniffFormat(Buffer.from('RIFF\0\0\0\0AVI LIST')), null);
  });

  it('lists the decodable formats per kind', () => {
    assert.deepEqual(supportedFormats('image'), ['jpeg', 'png', 'gif', 'webp', 'tiff', 'avif']);
    assert.deepEqual(supportedFormats('audio'), ['wav', 'flac', 'mp3', 'ogg-opus']);
  });
});

describe('extensions', () => {
  it('compares a file name with the sniffed format', () => {
    assert.equal(extensionOf('dir.v2/Photo.JPG'), 'jpg');
    assert.equal(extensionOf('.hidden'), '');
    assert.equal(extensionOf('noext'), '');
    assert.equal(extensionMatches('cat.jpeg', 'jpeg'), true);
    assert.equal(extensionMatches('cat.jpg', 'png'), false);
    assert.equal(extensionMatches('song.ogg', 'ogg-opus'), true);
    assert.equal(extensionMatches('song.mp3', 'ogg-opus'), false);
    assert.equal(extensionMatches('blob', 'wav'), true);
  });
});
