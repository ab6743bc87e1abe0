// The synthetic corpus, deterministic per seed: pictures of 1-3 shapes at five places, clips of
// 1-3 beeps, their captions (from @mmit/media, so always true), and questions with exact answers.
// The test split holds renders never seen in training and, in every other item, combinations
// never seen in training at all: for pictures a colour or a shape at a place training never shows
// it at (or, asked for, colour-shape pairs), for clips three-beep pitch patterns.
// Planning (what is in each item) is separate from rendering (bytes), so tests and the LM's
// corpus text can use the plan without paying for sharp.
import {
  type Beep,
  type BeepClip,
  beepCaptions,
  type Colour,
  createRng,
  encodeWav,
  type Pitch,
  type PlacedShape,
  pick,
  randomBeepClip,
  renderBeepClip,
  renderScene,
  type Scene,
  SHAPES,
  type Shape,
  sceneCaptions,
  shuffled,
} from '@mmit/media';
import {
  type AskedQuestion,
  clipQuestions,
  positionName,
  questionSubject,
  sceneQuestions,
} from './questions.js';
import {
  COLOUR_NAMES,
  colourPlaceKey,
  colourShapeKey,
  HELD_OUT_KINDS,
  type HeldOutKind,
  ITEM_KINDS,
  type ItemKind,
  PITCH_NAMES,
  POSITIONS,
  type PositionName,
  shapePlaceKey,
  type TaskQuestion,
} from './task.js';

export type Split = 'train' | 'test';

export interface PlannedItem {
  split: Split;
  /** File name inside the split's folder. */
  name: string;
  kind: ItemKind;
  captions: string[];
  scene?: Scene;
  clip?: BeepClip;
  /** Whether the item holds a combination that no training item holds. */
  heldOut: boolean;
}

export interface TaskPlan {
  seed: number;
  /** What the pictures' held-out combinations combine. */
  heldOutKind: HeldOutKind;
  /** Combinations that appear only in test pictures ('red at top left', or 'green square'). */
  heldOutCombinations: string[];
  /** Three-beep pitch patterns ('high low high') that appear only in test clips. */
  heldOutPatterns: string[];
  items: PlannedItem[];
  questions: Record<Split, TaskQuestion[]>;
}

export interface TaskOptions {
  seed: number;
  /** Pictures and clips in the training split (each). */
  train: number;
  /** Pictures and clips in the test split (each). */
  test: number;
  /** What the pictures' held-out combinations combine (default 'places'). */
  heldOut?: HeldOutKind;
  /**
   * Hold out exactly these combinations instead of drawing them (text-only corpora: none). The
   * keys are of `heldOut`'s kind: 'red at top left' for places, 'green square' for colour-shape.
   */
  fixedHeldOut?: { combinations: string[]; patterns: string[] };
}

const BACKGROUNDS: Scene['background'][] = ['white', 'light grey', 'beige'];

/** A held-out combination: the attributes a shape must have to hold it. */
interface Combination {
  colour?: Colour;
  shape?: Shape;
  place?: PositionName;
}

/** The combinations a placed shape holds, as keys. */
function combinationsOf(s: PlacedShape, kind: HeldOutKind): string[] {
  if (kind === 'colour-shape') return [colourShapeKey(s.colour, s.shape)];
  const place = positionName(s);
  return [colourPlaceKey(s.colour, place), shapePlaceKey(s.shape, place)];
}

/** A training picture must be able to put some shape at every place, or planning never ends. */
function refuseFullPlaces(holdsHeldOut: (s: PlacedShape) => boolean): void {
  for (const place of POSITIONS) {
    const open = COLOUR_NAMES.some((colour) =>
      SHAPES.some((shape) => !holdsHeldOut({ colour, shape, row: place.row, column: place.column, size: 0 })),
    );
    if (!open)
      throw new RangeError(`the held-out combinations leave no shape training may put at ${place.name}`);
  }
}

/** Reads a combination's key back into the attributes it fixes. */
function combination(key: string, kind: HeldOutKind): Combination {
  if (kind === 'colour-shape') {
    const [colour, shape] = key.split(' ') as [Colour, Shape];
    if (!COLOUR_NAMES.includes(colour) || !SHAPES.includes(shape))
      throw new RangeError(`"${key}" is not a colour-shape pair`);
    return { colour, shape };
  }
  const [what, place] = key.split(' at ') as [string, PositionName];
  if (!POSITIONS.some((p) => p.name === place)) throw new RangeError(`"${key}" names no place of the task`);
  if (COLOUR_NAMES.includes(what as Colour)) return { colour: what as Colour, place };
  if (SHAPES.includes(what as Shape)) return { shape: what as Shape, place };
  throw new RangeError(`"${key}" names neither a colour nor a shape`);
}

/**
 * Offset of the seed of the held-out places' own random stream (seed s's place stream is seed
 * s + PLACE_STREAM's main stream: harmless, as they draw different things).
 */
const PLACE_STREAM = 0x5eed;

/**
 * Four held-out combinations (one per shape) with distinct colours and distinct shapes (and,
 * for places, at distinct places), so training still shows every colour, every shape and every
 * place. `rng` draws the colours and shapes; places come from their own stream (`placeRng`), so
 * adding them left every other draw of a plan, and so the corpus the shipped LM learned from,
 * as it was.
 */
function chooseHeldOut(rng: () => number, placeRng: () => number, kind: HeldOutKind): string[] {
  const colours = shuffled(rng, COLOUR_NAMES);
  const shapes = shuffled(rng, SHAPES);
  if (kind === 'colour-shape') return shapes.map((shape, i) => colourShapeKey(colours[i], shape));
  const places = shuffled(placeRng, POSITIONS).map((p) => p.name);
  return [
    colourPlaceKey(colours[0], places[0]),
    colourPlaceKey(colours[1], places[1]),
    shapePlaceKey(shapes[0], places[2]),
    shapePlaceKey(shapes[1], places[3]),
  ];
}

function allPatterns(length: number): string[] {
  if (length === 0) return [''];
  return allPatterns(length - 1).flatMap((rest) => PITCH_NAMES.map((p) => (rest ? `${p} ${rest}` : p)));
}

const patternOf = (beeps: Beep[]) => beeps.map((b) => b.pitch).join(' ');

/** The shape a colour, shape or position question names (its wording must name one). */
function subjectOf(scene: Scene, q: AskedQuestion): PlacedShape {
  const subject = questionSubject(scene, q);
  if (!subject) throw new Error(`no shape of the scene is what "${q.question}" asks about`);
  return subject;
}

/**
 * 1-3 shapes at distinct places. `mustHold` makes the first shape hold that combination (what it
 * leaves open is drawn); `allowed` filters every other shape.
 */
function plannedScene(
  rng: () => number,
  allowed: (s: PlacedShape) => boolean,
  mustHold?: Combination,
): Scene {
  const count = 1 + Math.floor(rng() * 3);
  let places = shuffled(rng, POSITIONS).slice(0, count);
  const forcedPlace = mustHold?.place && POSITIONS.find((p) => p.name === mustHold.place);
  if (forcedPlace) places = [forcedPlace, ...places.filter((p) => p !== forcedPlace)].slice(0, count);
  const shapes: PlacedShape[] = places.map((place, i) => {
    const forced = i === 0 ? mustHold : undefined;
    let drawn: Pick<PlacedShape, 'colour' | 'shape' | 'row' | 'column'>;
    do {
      drawn = {
        colour: forced?.colour ?? pick(rng, COLOUR_NAMES),
        shape: forced?.shape ?? pick(rng, SHAPES),
        row: place.row,
        column: place.column,
      };
    } while (!forced && !allowed({ ...drawn, size: 0 }));
    return { ...drawn, size: 0.11 + rng() * 0.05 };
  });
  return {
    shapes: shuffled(rng, shapes),
    background: pick(rng, BACKGROUNDS),
    noise: 2 + Math.floor(rng() * 3),
  };
}

function plannedClip(rng: () => number, allowed: (pattern: string) => boolean, mustHold?: string): BeepClip {
  const clip = randomBeepClip(rng);
  if (mustHold) {
    const pitches = mustHold.split(' ') as Pitch[];
    // A three-beep clip's timing, with the held-out pitches written in.
    let timed = clip;
    while (timed.beeps.length !== pitches.length) timed = randomBeepClip(rng);
    return { ...timed, beeps: timed.beeps.map((b, i) => ({ ...b, pitch: pitches[i] })) };
  }
  return allowed(patternOf(clip.beeps)) ? clip : plannedClip(rng, allowed);
}

const fileName = (stem: string, index: number, ext: string) =>
  `${stem}-${String(index + 1).padStart(4, '0')}.${ext}`;

/** What every item holds and what is asked about it; no rendering. */
export function planTask(options: TaskOptions): TaskPlan {
  const heldOutKind = options.heldOut ?? 'places';
  if (!HELD_OUT_KINDS.includes(heldOutKind))
    throw new RangeError(
      `heldOut ${JSON.stringify(heldOutKind)}: valid kinds are ${HELD_OUT_KINDS.join(', ')}`,
    );
  const rng = createRng(options.seed);
  const drawnCombinations = chooseHeldOut(rng, createRng(options.seed + PLACE_STREAM), heldOutKind);
  const drawnPatterns = shuffled(rng, allPatterns(3)).slice(0, 2);
  const heldOutCombinations = options.fixedHeldOut?.combinations ?? drawnCombinations;
  const heldOutPatterns = options.fixedHeldOut?.patterns ?? drawnPatterns;
  const forcing = heldOutCombinations.map((key) => combination(key, heldOutKind));
  const holdsHeldOut = (s: PlacedShape) =>
    combinationsOf(s, heldOutKind).some((key) => heldOutCombinations.includes(key));
  refuseFullPlaces(holdsHeldOut);
  const items: PlannedItem[] = [];
  const questions: Record<Split, TaskQuestion[]> = { train: [], test: [] };
  const splits: [Split, number][] = [
    ['train', options.train],
    ['test', options.test],
  ];
  for (const [split, count] of splits) {
    for (let i = 0; i < count; i++) {
      const mustHold = split === 'test' && i % 2 === 0 ? forcing[(i / 2) % forcing.length] : undefined;
      const scene = plannedScene(rng, (s) => split === 'test' || !holdsHeldOut(s), mustHold);
      const name = fileName('shapes', i, 'png');
      items.push({ split, name, kind: 'image', captions: sceneCaptions(scene), scene, heldOut: !!mustHold });
      for (const q of sceneQuestions(scene, rng)) {
        const novel =
          q.type === 'count' ? scene.shapes.some(holdsHeldOut) : holdsHeldOut(subjectOf(scene, q));
        questions[split].push({ file: name, kind: 'image', ...q, novel });
      }
    }
    for (let i = 0; i < count; i++) {
      const mustHold =
        split === 'test' && i % 2 === 0 ? heldOutPatterns[(i / 2) % heldOutPatterns.length] : undefined;
      const clip = plannedClip(rng, (p) => split === 'test' || !heldOutPatterns.includes(p), mustHold);
      const name = fileName('beeps', i, 'wav');
      items.push({ split, name, kind: 'audio', captions: beepCaptions(clip), clip, heldOut: !!mustHold });
      const novel = heldOutPatterns.includes(patternOf(clip.beeps));
      for (const q of clipQuestions(clip, rng))
        questions[split].push({ file: name, kind: 'audio', ...q, novel });
    }
  }
  return { seed: options.seed, heldOutKind, heldOutCombinations, heldOutPatterns, items, questions };
}

/** What a plan holds out, as reports name it. */
export interface HeldOutSummary {
  kind: HeldOutKind;
  /** The pictures' held-out combinations. */
  combinations: string[];
  /** The clips' held-out pitch patterns. */
  patterns: string[];
}

export function heldOutOf(plan: TaskPlan): HeldOutSummary {
  return { kind: plan.heldOutKind, combinations: plan.heldOutCombinations, patterns: plan.heldOutPatterns };
}

export interface RenderedItem extends PlannedItem {
  bytes: Uint8Array;
}

/** Side of the rendered pictures; the vision tower's processor resizes them to its own size. */
export const IMAGE_SIDE = 96;

/** The item's file bytes: a PNG with seeded noise, or a 16 kHz mono 16-bit WAV. */
export async function renderItem(item: PlannedItem, index: number): Promise<RenderedItem> {
  if (item.scene) {
    const bytes = await renderScene(item.scene, { width: IMAGE_SIDE, format: 'png', noiseSeed: index + 1 });
    return { ...item, bytes };
  }
  if (!item.clip) throw new Error(`item ${item.name} has neither a scene nor a clip`);
  return { ...item, bytes: encodeWav(renderBeepClip(item.clip), item.clip.sampleRate) };
}

/** The plan with only the items and questions of `kinds` (the whole plan when both are asked for). */
export function onlyKinds(plan: TaskPlan, kinds: readonly ItemKind[]): TaskPlan {
  if (ITEM_KINDS.every((k) => kinds.includes(k))) return plan;
  return {
    ...plan,
    items: plan.items.filter((item) => kinds.includes(item.kind)),
    questions: {
      train: plan.questions.train.filter((q) => kinds.includes(q.kind)),
      test: plan.questions.test.filter((q) => kinds.includes(q.kind)),
    },
  };
}
