// Deterministic synthetic media with captions: pictures of 1-3 coloured shapes and clips of 1-3 beeps.
// The same seed gives the same bytes (given the same sharp/libvips build), so the sample corpus in the repo
// can be regenerated and a larger benchmark corpus built from the same code. Captions are generated from
// the scene description, so they are always true of the picture or clip they belong to.
import { mulberry32 } from '@mmit/random';
import sharp from 'sharp';
import { sineWave } from './audio/signals.js';
import { encodeWav } from './audio/wav.js';
import { normalizeImage } from './image/normalize.js';
import { DEFAULT_NEAR_DUPLICATE_DISTANCE, hammingDistance } from './image/phash.js';

/** Floats in [0, 1) from `seed`: mmit's one seeded generator (@mmit/random). */
export const createRng = mulberry32;

/** One item drawn uniformly with `rng`. */
export function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)];
}

/** A Fisher-Yates shuffled copy, drawn with `rng`. */
export function shuffled<T>(rng: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

// ---------------------------------------------------------------- images

export const SHAPES = ['circle', 'square', 'triangle', 'star'] as const;
export type Shape = (typeof SHAPES)[number];

export const COLOURS = {
  red: '#d62828',
  green: '#2a9d3f',
  blue: '#1d4ed8',
  yellow: '#f2c114',
  purple: '#7b2cbf',
  orange: '#f77f00',
} as const;
export type Colour = keyof typeof COLOURS;

const BACKGROUNDS = { white: '#ffffff', 'light grey': '#e4e4e4', beige: '#f1e6cf' } as const;
type Background = keyof typeof BACKGROUNDS;

/** A 3x3 grid of places, so every shape's position has a plain-language name. */
const ROWS = ['top', 'middle', 'bottom'] as const;
const COLUMNS = ['left', 'center', 'right'] as const;

export interface PlacedShape {
  shape: Shape;
  colour: Colour;
  row: 0 | 1 | 2;
  column: 0 | 1 | 2;
  /** Radius as a fraction of the image side. */
  size: number;
}

export interface Scene {
  shapes: PlacedShape[];
  background: Background;
  /** Peak amplitude of uniform pixel noise, in 8-bit levels (0 = clean). */
  noise: number;
}

export function placeName(row: number, column: number): string {
  if (row === 1 && column === 1) return 'center';
  if (row === 1) return `middle ${COLUMNS[column]}`;
  if (column === 1) return `${ROWS[row]} center`;
  return `${ROWS[row]} ${COLUMNS[column]}`;
}

/** 1-3 shapes in distinct grid cells, so captions never describe two shapes at one place. */
export function randomScene(rng: () => number, maxShapes = 3): Scene {
  const count = 1 + Math.floor(rng() * maxShapes);
  const cells = shuffled(rng, [0, 1, 2, 3, 4, 5, 6, 7, 8]).slice(0, count);
  const shapes = cells.map((cell) => ({
    shape: pick(rng, SHAPES),
    colour: pick(rng, Object.keys(COLOURS) as Colour[]),
    row: Math.floor(cell / 3) as 0 | 1 | 2,
    column: (cell % 3) as 0 | 1 | 2,
    size: 0.12 + rng() * 0.04,
  }));
  return {
    shapes,
    background: pick(rng, Object.keys(BACKGROUNDS) as Background[]),
    noise: 2 + Math.floor(rng() * 3),
  };
}

function starPoints(cx: number, cy: number, r: number): string {
  const points: string[] = [];
  for (let i = 0; i < 10; i++) {
    const radius = i % 2 === 0 ? r : r * 0.45;
    const angle = -Math.PI / 2 + (i * Math.PI) / 5;
    points.push(
      `${(cx + radius * Math.cos(angle)).toFixed(2)},${(cy + radius * Math.sin(angle)).toFixed(2)}`,
    );
  }
  return points.join(' ');
}

function shapeSvg(s: PlacedShape, width: number, height: number): string {
  const side = Math.min(width, height);
  const cx = ((s.column + 0.5) / 3) * width;
  const cy = ((s.row + 0.5) / 3) * height;
  const r = s.size * side;
  const fill = COLOURS[s.colour];
  switch (s.shape) {
    case 'circle':
      return `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${fill}"/>`;
    case 'square':
      return `<rect x="${cx - r}" y="${cy - r}" width="${2 * r}" height="${2 * r}" fill="${fill}"/>`;
    case 'triangle': {
      const h = r * Math.sqrt(3);
      return `<polygon points="${cx},${cy - r} ${cx - h / 2},${cy + r / 2} ${cx + h / 2},${cy + r / 2}" fill="${fill}"/>`;
    }
    case 'star':
      return `<polygon points="${starPoints(cx, cy, r)}" fill="${fill}"/>`;
  }
}

export function sceneSvg(scene: Scene, width: number, height = width): string {
  const shapes = scene.shapes.map((s) => shapeSvg(s, width, height)).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="${BACKGROUNDS[scene.background]}"/>${shapes}</svg>`;
}

export interface RenderOptions {
  width?: number;
  height?: number;
  format?: 'png' | 'jpeg';
  jpegQuality?: number;
  /** Seed of the pixel noise (the scene's own randomness is already fixed). */
  noiseSeed?: number;
}

/** Rasterises a scene (librsvg through sharp), adds its seeded noise, encodes it. */
export async function renderScene(scene: Scene, options: RenderOptions = {}): Promise<Buffer> {
  const width = options.width ?? 256;
  const height = options.height ?? width;
  const { data, info } = await sharp(Buffer.from(sceneSvg(scene, width, height)))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (scene.noise > 0) {
    const rng = createRng(options.noiseSeed ?? 1);
    const span = 2 * scene.noise + 1;
    for (let i = 0; i < data.length; i++) {
      data[i] = Math.max(0, Math.min(255, data[i] + Math.floor(rng() * span) - scene.noise));
    }
  }
  const image = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
  return options.format === 'jpeg'
    ? image.jpeg({ quality: options.jpegQuality ?? 85 }).toBuffer()
    : image.png({ compressionLevel: 9 }).toBuffer();
}

const NUMBER_WORDS = ['no', 'one', 'two', 'three'];

function capitalise(text: string): string {
  return `${text[0].toUpperCase()}${text.slice(1)}`;
}

function phrase(s: PlacedShape): string {
  return `${s.colour === 'orange' ? 'an' : 'a'} ${s.colour} ${s.shape}`;
}

function list(parts: string[]): string {
  return parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/**
 * Every caption this scene supports; all are true of it. The first is the most complete. Shapes
 * are named in reading order (top row first, left to right), as a person would list them, so a
 * caption's order follows from the picture alone.
 */
export function sceneCaptions(scene: Scene): string[] {
  const shapes = [...scene.shapes].sort((a, b) => a.row - b.row || a.column - b.column);
  const located = list(
    shapes.map(
      (s) =>
        `${phrase(s)} ${s.row === 1 && s.column === 1 ? 'in the' : 'at the'} ${placeName(s.row, s.column)}`,
    ),
  );
  const captions = [capitalise(`${located} on a ${scene.background} background.`)];
  // The count is said for one shape too ("One shape: ..."), so a caption reader learns that "How
  // many shapes are there?" can be answered "one".
  captions.push(
    capitalise(
      `${NUMBER_WORDS[shapes.length]} ${shapes.length === 1 ? 'shape' : 'shapes'}: ${list(shapes.map(phrase))}.`,
    ),
  );
  const colours = [...new Set(shapes.map((s) => s.colour))];
  const shapeWord =
    shapes.length === 1
      ? `${colours[0] === 'orange' ? 'an' : 'a'} ${colours[0]} shape`
      : `${list(colours)} shapes`;
  captions.push(`A ${scene.background} picture with ${shapeWord}.`);
  return captions;
}

// ---------------------------------------------------------------- audio

export const PITCHES = { low: 440, high: 1760 } as const;
export type Pitch = keyof typeof PITCHES;

export interface Beep {
  pitch: Pitch;
  startSec: number;
  durationSec: number;
}

export interface BeepClip {
  beeps: Beep[];
  durationSec: number;
  sampleRate: number;
}

/** Every clip is this long, whatever its beeps, so an encoder sees the same frame count for each. */
export const BEEP_CLIP_SEC = 2;
/** Beep i starts near BEEP_FIRST_SEC + i * BEEP_PERIOD_SEC: a fixed rhythm puts beep i in the same frames of every clip. */
const BEEP_FIRST_SEC = 0.2;
const BEEP_PERIOD_SEC = 0.6;
const BEEP_JITTER_SEC = 0.04;

/**
 * 1-3 beeps of 0.2-0.3 s, low or high, on a fixed rhythm (start of beep i = 0.2 + 0.6 i s, give or
 * take 0.04 s), in a 2.0 s clip: the gaps (at least 0.22 s) keep beeps apart, and the rhythm lets
 * a Whisper-shaped encoder with fixed positions find beep i in the same place in every clip.
 */
export function randomBeepClip(rng: () => number, sampleRate = 16_000): BeepClip {
  const count = 1 + Math.floor(rng() * 3);
  const beeps: Beep[] = [];
  for (let i = 0; i < count; i++) {
    const jitter = (2 * rng() - 1) * BEEP_JITTER_SEC;
    const durationSec = 0.2 + rng() * 0.1;
    beeps.push({
      pitch: rng() < 0.5 ? 'low' : 'high',
      startSec: BEEP_FIRST_SEC + BEEP_PERIOD_SEC * i + jitter,
      durationSec,
    });
  }
  return { beeps, durationSec: BEEP_CLIP_SEC, sampleRate };
}

/** Float samples of the clip: sine beeps with 10 ms raised-cosine ramps (no clicks). */
export function renderBeepClip(clip: BeepClip): Float32Array {
  const out = new Float32Array(Math.round(clip.durationSec * clip.sampleRate));
  const ramp = Math.round(0.01 * clip.sampleRate);
  for (const beep of clip.beeps) {
    const tone = sineWave(PITCHES[beep.pitch], clip.sampleRate, beep.durationSec, 0.4);
    const start = Math.round(beep.startSec * clip.sampleRate);
    for (let i = 0; i < tone.length && start + i < out.length; i++) {
      const edge = Math.min(i, tone.length - 1 - i);
      const gain = edge < ramp ? 0.5 - 0.5 * Math.cos((Math.PI * edge) / ramp) : 1;
      out[start + i] += tone[i] * gain;
    }
  }
  return out;
}

/**
 * Captions of a clip, all true of it: the first narrates the beeps in order ("A high beep, then a
 * low beep.", "A low beep."), the second counts them ("Two high beeps.", "Three beeps, low and
 * high."), the third describes them loosely.
 */
export function beepCaptions(clip: BeepClip): string[] {
  const { beeps } = clip;
  const pitches = [...new Set(beeps.map((b) => b.pitch))];
  const count = NUMBER_WORDS[beeps.length];
  const noun = beeps.length === 1 ? 'beep' : 'beeps';
  const narrated = capitalise(`${beeps.map((b) => `a ${b.pitch} beep`).join(', then ')}.`);
  const counted =
    pitches.length === 1
      ? capitalise(`${count} ${pitches[0]} ${noun}.`)
      : capitalise(`${count} ${noun}, ${pitches.join(' and ')}.`);
  const loose = capitalise(`${count} short ${beeps.length === 1 ? 'tone' : 'tones'} in silence.`);
  return [narrated, counted, loose];
}

// ---------------------------------------------------------------- corpus

export interface SampleFile {
  /** File name inside the corpus folder, e.g. `shapes-007.png`. */
  name: string;
  bytes: Uint8Array;
  /** Captions for the sidecar `.txt`, one per line. */
  captions: string[];
}

export interface SampleCorpusOptions {
  seed?: number;
  images?: number;
  clips?: number;
  imageSide?: number;
  /**
   * Append an exact duplicate and a near duplicate (smaller, recompressed) of the first image, so an import
   * shows both kinds of duplicate detection. Default true.
   */
  withDuplicates?: boolean;
}

/**
 * Scenes are drawn until their pHash keeps this far from every earlier one: pHash ignores colour, so two
 * different drawings with the same layout (one shape at the bottom left on a plain background) would
 * otherwise be flagged as near duplicates. The margin over the ingest default absorbs re-encoding noise.
 */
const MIN_SCENE_DISTANCE = DEFAULT_NEAR_DUPLICATE_DISTANCE + 4;

/**
 * An exact copy and a smaller, recompressed copy of the first image whose small copy stays clearly within
 * the near-duplicate distance (left-right symmetric drawings hash unstably, so not always image 1).
 */
async function duplicatesOfOne(files: SampleFile[], hashes: string[]): Promise<SampleFile[]> {
  for (const [i, source] of files.entries()) {
    const smaller = await sharp(source.bytes).resize({ width: 160 }).jpeg({ quality: 70 }).toBuffer();
    const distance = hammingDistance(hashes[i], (await normalizeImage(smaller)).phash);
    if (distance > DEFAULT_NEAR_DUPLICATE_DISTANCE / 2) continue;
    const stem = source.name.replace(/\.\w+$/, '');
    return [
      {
        name: `${stem}-copy${source.name.slice(stem.length)}`,
        bytes: source.bytes,
        captions: source.captions,
      },
      { name: `${stem}-small.jpg`, bytes: smaller, captions: source.captions.slice(0, 1) },
    ];
  }
  return [];
}

/**
 * A folder-import corpus: images (JPEG, every third one PNG, so both paths are exercised; noisy PNGs are
 * ~60 KB, JPEGs ~3 KB, which keeps the committed folder small), pairwise far apart in pHash, and 16 kHz
 * 16-bit mono WAV clips, each with 1-3 captions.
 */
export async function generateSampleCorpus(options: SampleCorpusOptions = {}): Promise<SampleFile[]> {
  const rng = createRng(options.seed ?? 20_240_601);
  const files: SampleFile[] = [];
  const hashes: string[] = [];
  for (let i = 0; i < (options.images ?? 36); i++) {
    const format = i % 3 === 2 ? 'png' : 'jpeg';
    const render = (scene: Scene) =>
      renderScene(scene, { width: options.imageSide ?? 224, format, noiseSeed: i + 1 });
    let scene = randomScene(rng);
    let bytes = await render(scene);
    let hash = (await normalizeImage(bytes)).phash;
    for (
      let attempt = 0;
      attempt < 50 && hashes.some((h) => hammingDistance(h, hash) < MIN_SCENE_DISTANCE);
      attempt++
    ) {
      scene = randomScene(rng);
      bytes = await render(scene);
      hash = (await normalizeImage(bytes)).phash;
    }
    hashes.push(hash);
    const captions = sceneCaptions(scene).slice(0, 1 + Math.floor(rng() * 3));
    files.push({
      name: `shapes-${String(i + 1).padStart(3, '0')}.${format === 'jpeg' ? 'jpg' : 'png'}`,
      bytes,
      captions,
    });
  }
  if (options.withDuplicates ?? true) files.push(...(await duplicatesOfOne(files, hashes)));
  for (let i = 0; i < (options.clips ?? 12); i++) {
    const clip = randomBeepClip(rng);
    const captions = beepCaptions(clip).slice(0, 1 + Math.floor(rng() * 2));
    files.push({
      name: `beeps-${String(i + 1).padStart(3, '0')}.wav`,
      bytes: encodeWav(renderBeepClip(clip), clip.sampleRate),
      captions,
    });
  }
  return files;
}
