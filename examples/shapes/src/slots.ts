// What the frozen LM reads where a picture or a clip will later be: one row per encoder token,
// each the sum of a few word embeddings. The vision tower has exactly one patch token per cell of
// media's 3x3 grid (raster order, CLS dropped) and the Whisper-shaped encoder one frame per 80 ms
// of a 2 s clip, so the LM is pretrained on rows that line up with what the projector can produce
// from each feature row alone: a cell's place, colour and shape words; a frame's pitch word.
// Why rows and not a sentence: a projector maps each feature row on its own, so it can put a
// per-cell (or per-frame) vector where the LM expects one, but it cannot write a sentence whose
// words depend on other rows. Measured before this layout: an LM pretrained on sentence
// descriptions answered colour and shape near chance even with the description in context.
import type { BeepClip, Scene } from '@mmit/media';
import { AUDIO_SIZES, VISION_SIZES } from './encoders.js';
import { POSITIONS } from './task.js';

/** Patch tokens of the vision tower: one per grid cell. */
export const IMAGE_ROWS = (VISION_SIZES.imageSize / VISION_SIZES.patchSize) ** 2;
/** Encoder frames of one clip (the clips fill the encoder's window exactly). */
export const AUDIO_ROWS = AUDIO_SIZES.positions;
/** Seconds of audio per encoder frame (two log-mel hops: Whisper's second conv has stride 2). */
export const SECONDS_PER_FRAME = (2 * AUDIO_SIZES.hopLength) / 16_000;

const GRID = Math.sqrt(IMAGE_ROWS);

/**
 * The word an empty cell's row holds. Measured with ideal rows (seed 1, pictures only, 1500 steps):
 * zero rows, which the slot noise turns into random directions after the LM's RMSNorm, left the
 * lookups at colour 0.30, count 0.55, position 0.60; a word of their own gave 0.65, 0.70, 0.70.
 */
export const EMPTY_CELL = 'empty';

/**
 * Row k = cell (k / 3, k % 3): for a cell holding a shape, its place's words, colour and kind;
 * an empty cell holds EMPTY_CELL and the background's words (what the cell shows), so the rows
 * that are not "empty" are the shapes (what a count reads), and a caption's "on a beige
 * background" can be read from the picture's rows like everything else it says.
 */
export function sceneSlots(scene: Scene): string[][] {
  const rows: string[][] = [];
  for (let row = 0; row < GRID; row++) {
    for (let column = 0; column < GRID; column++) {
      const shape = scene.shapes.find((s) => s.row === row && s.column === column);
      const place = POSITIONS.find((p) => p.row === row && p.column === column);
      rows.push(
        shape && place
          ? [...place.name.split(' '), shape.colour, shape.shape]
          : [EMPTY_CELL, ...scene.background.split(' ')],
      );
    }
  }
  return rows;
}

/** Row t = the pitch word of the beep sounding at the frame's centre; silent frames hold nothing. */
export function clipSlots(clip: BeepClip): string[][] {
  return Array.from({ length: AUDIO_ROWS }, (_, t) => {
    const centre = (t + 0.5) * SECONDS_PER_FRAME;
    const beep = clip.beeps.find((b) => centre >= b.startSec && centre < b.startSec + b.durationSec);
    return beep ? [beep.pitch] : [];
  });
}
