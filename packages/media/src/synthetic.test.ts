import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { rms, toneAmplitude } from './audio/signals.js';
import { decodeWav } from './audio/wav.js';
import { normalizeImage } from './image/normalize.js';
import { isNearDuplicate } from './image/phash.js';
import { sniffFormat } from './sniff.js';
import {
  beepCaptions,
  COLOURS,
  createRng,
  generateSampleCorpus,
  PITCHES,
  placeName,
  randomBeepClip,
  randomScene,
  renderBeepClip,
  renderScene,
  sceneCaptions,
} from './synthetic.js';

function hexToRgb(hex: string): number[] {
  return [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
}

describe('synthetic scenes', () => {
  it('draws each shape in its colour at the place its caption names', async () => {
    const rng = createRng(42);
    for (let n = 0; n < 8; n++) {
      const scene = randomScene(rng);
      const side = 240;
      const { data } = await sharp(await renderScene(scene, { width: side, format: 'png' }))
        .raw()
        .toBuffer({ resolveWithObject: true });
      const [first] = sceneCaptions(scene);
      for (const s of scene.shapes) {
        const x = Math.round(((s.column + 0.5) / 3) * side);
        const y = Math.round(((s.row + 0.5) / 3) * side);
        const at = (y * side + x) * 3;
        const actual = [...data.subarray(at, at + 3)];
        const expected = hexToRgb(COLOURS[s.colour]);
        assert.ok(
          actual.every((v, i) => Math.abs(v - expected[i]) <= scene.noise),
          `${s.colour} ${s.shape}: ${actual}`,
        );
        assert.ok(first.includes(`${s.colour} ${s.shape}`), first);
        assert.ok(first.includes(placeName(s.row, s.column)), first);
      }
    }
  });

  it('is deterministic for a seed', async () => {
    const a = await generateSampleCorpus({ seed: 9, images: 3, clips: 2 });
    const b = await generateSampleCorpus({ seed: 9, images: 3, clips: 2 });
    assert.deepEqual(
      a.map((f) => [f.name, Buffer.from(f.bytes).toString('base64'), f.captions]),
      b.map((f) => [f.name, Buffer.from(f.bytes).toString('base64'), f.captions]),
    );
    const c = await generateSampleCorpus({ seed: 10, images: 3, clips: 2 });
    assert.notDeepEqual(
      a.map((f) => f.captions),
      c.map((f) => f.captions),
    );
  });

  it('names files by what they hold and gives each 1-3 captions', async () => {
    const files = await generateSampleCorpus({ seed: 3, images: 6, clips: 3, withDuplicates: false });
    assert.equal(files.length, 9);
    for (const file of files) {
      const extension = file.name.split('.').pop();
      const format = sniffFormat(file.bytes)?.format;
      assert.equal({ jpg: 'jpeg', png: 'png', wav: 'wav' }[extension ?? ''], format, file.name);
      assert.ok(file.captions.length >= 1 && file.captions.length <= 3, file.name);
      for (const caption of file.captions) assert.match(caption, /^[A-Z].*\.$/);
    }
  });
});

describe('sample corpus duplicates', () => {
  it('holds one exact and one near duplicate, and no other pair within the near-duplicate distance', async () => {
    const images = (await generateSampleCorpus({ seed: 11, images: 10, clips: 0 })).filter(
      (f) => !f.name.endsWith('.wav'),
    );
    assert.equal(images.length, 12);
    const copy = images.find((f) => f.name.includes('-copy.'));
    const small = images.find((f) => f.name.endsWith('-small.jpg'));
    assert.ok(copy && small);
    const source = images.find((f) => f.name === copy.name.replace('-copy', ''));
    assert.deepEqual(copy.bytes, source?.bytes);
    const hashes = new Map<string, string>();
    for (const f of images) hashes.set(f.name, (await normalizeImage(f.bytes)).phash);
    const related = new Set([copy.name, small.name, source?.name]);
    for (const a of images) {
      for (const b of images) {
        if (a.name >= b.name) continue;
        const near = isNearDuplicate(hashes.get(a.name) ?? '', hashes.get(b.name) ?? '');
        assert.equal(near, related.has(a.name) && related.has(b.name), `${a.name} vs ${b.name}`);
      }
    }
  });
});

describe('synthetic beeps', () => {
  it('puts each beep at its pitch and time, with silence around', () => {
    const rng = createRng(5);
    for (let n = 0; n < 6; n++) {
      const clip = randomBeepClip(rng);
      const pcm = renderBeepClip(clip);
      const rate = clip.sampleRate;
      for (const beep of clip.beeps) {
        const start = Math.round((beep.startSec + 0.02) * rate);
        const end = Math.round((beep.startSec + beep.durationSec - 0.02) * rate);
        const other = beep.pitch === 'low' ? PITCHES.high : PITCHES.low;
        assert.ok(Math.abs(toneAmplitude(pcm, PITCHES[beep.pitch], rate, start, end) - 0.4) < 0.02);
        assert.ok(toneAmplitude(pcm, other, rate, start, end) < 0.02);
      }
      assert.equal(rms(pcm, 0, Math.round(clip.beeps[0].startSec * rate)), 0);
      const [narrated, counted] = beepCaptions(clip);
      const pitches = clip.beeps.map((b) => b.pitch);
      assert.equal(
        narrated,
        `A ${pitches.map((p, i) => `${i === 0 ? '' : 'a '}${p} beep`).join(', then ')}.`,
      );
      const count = ['One', 'Two', 'Three'][pitches.length - 1];
      const plural = pitches.length > 1 ? 's' : '';
      if (new Set(pitches).size === 1) assert.equal(counted, `${count} ${pitches[0]} beep${plural}.`);
      else assert.match(counted, new RegExp(`^${count} beeps, (low and high|high and low)\\.$`));
    }
  });

  it('places beeps on a fixed rhythm in clips of exactly 2 s', () => {
    const rng = createRng(17);
    const counts = new Set<number>();
    for (let n = 0; n < 200; n++) {
      const clip = randomBeepClip(rng);
      counts.add(clip.beeps.length);
      assert.equal(clip.durationSec, 2);
      assert.equal(renderBeepClip(clip).length, 2 * clip.sampleRate);
      clip.beeps.forEach((beep, i) => {
        const offset = beep.startSec - (0.2 + 0.6 * i);
        assert.ok(Math.abs(offset) <= 0.04 + 1e-12, `beep ${i} starts at ${beep.startSec}`);
        assert.ok(beep.durationSec >= 0.2 && beep.durationSec <= 0.3, `beep ${i} lasts ${beep.durationSec}`);
      });
    }
    assert.deepEqual([...counts].sort(), [1, 2, 3]);
  });

  it('narrates a single beep and counts it', () => {
    const clip = {
      beeps: [{ pitch: 'low' as const, startSec: 0.2, durationSec: 0.25 }],
      durationSec: 2,
      sampleRate: 16_000,
    };
    assert.deepEqual(beepCaptions(clip), ['A low beep.', 'One low beep.', 'One short tone in silence.']);
  });

  it('writes clips as 16 kHz 16-bit mono WAV', async () => {
    const [clip] = (await generateSampleCorpus({ seed: 1, images: 0, clips: 1 })).map((f) =>
      decodeWav(f.bytes),
    );
    assert.equal(clip.sampleRate, 16_000);
    assert.equal(clip.channels, 1);
    assert.equal(clip.durationSec, 2);
  });
});
