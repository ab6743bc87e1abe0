// The synthetic task's vocabulary: the five places a shape can sit, the six question types and
// the answers each allows. One place defines them so the generator, the LM's corpus text, the
// evaluation and the chance levels can never disagree about what a right answer is.
import { COLOURS, type Colour, PITCHES, type Pitch, SHAPES, type Shape } from '@mmit/media';

/** Five places on media's 3x3 grid (corners and centre), named as media's captions name them. */
export const POSITIONS = [
  { name: 'top left', row: 0, column: 0 },
  { name: 'top right', row: 0, column: 2 },
  { name: 'center', row: 1, column: 1 },
  { name: 'bottom left', row: 2, column: 0 },
  { name: 'bottom right', row: 2, column: 2 },
] as const;
export type PositionName = (typeof POSITIONS)[number]['name'];

export const QUESTION_TYPES = ['colour', 'shape', 'count', 'position', 'beeps', 'pitch'] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export const COLOUR_NAMES = Object.keys(COLOURS) as Colour[];
export const PITCH_NAMES = Object.keys(PITCHES) as Pitch[];
export const COUNT_WORDS = ['one', 'two', 'three'] as const;

/** Every answer a question of each type may have; exact match is against these words. */
export const ANSWERS: Record<QuestionType, readonly string[]> = {
  colour: COLOUR_NAMES,
  shape: SHAPES,
  count: COUNT_WORDS,
  position: POSITIONS.map((p) => p.name),
  beeps: COUNT_WORDS,
  pitch: PITCH_NAMES,
};

export const ITEM_KINDS = ['image', 'audio'] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];

export interface TaskQuestion {
  /** The media file (inside its split folder) the question is about. */
  file: string;
  kind: ItemKind;
  type: QuestionType;
  question: string;
  answer: string;
  /**
   * Asks about a combination no training item holds: the shape it is about holds a held-out
   * combination (a count: the picture holds one), or the clip plays a held-out pitch pattern.
   * The rest of the test split is unseen renders of combinations training saw.
   */
  novel: boolean;
}

export function countWord(n: number): string {
  const word = COUNT_WORDS[n - 1];
  if (!word) throw new RangeError(`count ${n} has no answer word; valid: 1-${COUNT_WORDS.length}`);
  return word;
}

export function colourShapeKey(colour: Colour, shape: Shape): string {
  return `${colour} ${shape}`;
}

/**
 * What the pictures' held-out combinations combine.
 * - `places`: a colour at a place, or a shape at a place ("red at top left": training never shows
 *   a red shape there). The clips' held-out pitch patterns are the same kind of combination: a
 *   pitch at a beep's place in the clip. This is the default.
 * - `colour-shape`: a colour-shape pair ("green square": training shows green shapes and squares,
 *   never a green square). Telling colour from shape in a pair never seen takes features that
 *   hold them apart; the random frozen tower does not (docs/walkthrough.md measures it).
 */
export const HELD_OUT_KINDS = ['places', 'colour-shape'] as const;
export type HeldOutKind = (typeof HELD_OUT_KINDS)[number];

export function colourPlaceKey(colour: Colour, place: PositionName): string {
  return `${colour} at ${place}`;
}

export function shapePlaceKey(shape: Shape, place: PositionName): string {
  return `${shape} at ${place}`;
}

/** Every colour-shape pair, in a fixed order. */
export function allColourShapePairs(): string[] {
  return COLOUR_NAMES.flatMap((c) => SHAPES.map((s) => colourShapeKey(c, s)));
}

/**
 * The proof's defaults (the CLI's flags and the engine-only run both start from these). The LM's
 * are the settings of the LM shipped in examples/shapes/pretrained-lm, pretrained once (about 25
 * minutes on 2 cores) and found by its key, so a default run only trains the projectors: sized to
 * finish in under 5 minutes on 2 CPU cores.
 */
export const PROOF_DEFAULTS = {
  train: 200,
  test: 40,
  lmSteps: 20_000,
  lmLr: 5e-3,
  lmBatchSize: 64,
  lmScenes: 2000,
  lmNoise: 0.5,
  projectorSteps: 3000,
  projectorLr: 3e-3,
  questionsPerItem: 10,
} as const;
