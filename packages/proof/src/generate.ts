// The synthetic corpus, deterministic per seed: pictures of 1-3 shapes at five places, clips of
// 1-3 beeps, their captions (from @mmit/media, so always true), and questions with exact answers.
// The test split holds renders never seen in training and, in every other item, combinations
// never seen in training at all: colour-shape pairs for pictures, three-beep pitch patterns for clips.
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
import { type AskedQuestion, clipQuestions, questionSubject, sceneQuestions } from './questions.js';
import {
  COLOUR_NAMES,
  colourShapeKey,
  ITEM_KINDS,
  type ItemKind,
  PITCH_NAMES,
  POSITIONS,
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
  /** Colour-shape pairs that appear only in test pictures. */
  heldOutPairs: string[];
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
  /** Held-out colour-shape pairs: at most 4, so every colour and shape still appears in training. */
  heldOutPairs?: number;
  /** Use these held-out combinations instead of drawing them (text-only corpora for the same task). */
  heldOut?: { pairs: string[]; patterns: string[] };
}

const BACKGROUNDS: Scene['background'][] = ['white', 'light grey', 'beige'];

/** Pairs with distinct colours and distinct shapes, so training still shows every colour and every shape. */
function chooseHeldOutPairs(rng: () => number, count: number): string[] {
  if (count > SHAPES.length) throw new RangeError(`heldOutPairs ${count} exceeds ${SHAPES.length}`);
  const colours = shuffled(rng, COLOUR_NAMES);
  const shapes = shuffled(rng, SHAPES);
  return Array.from({ length: count }, (_, i) => colourShapeKey(colours[i], shapes[i]));
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

/** 1-3 shapes at distinct places; `mustHold` forces one shape to be that pair, `allowed` filters the rest. */
function plannedScene(rng: () => number, allowed: (key: string) => boolean, mustHold?: string): Scene {
  const count = 1 + Math.floor(rng() * 3);
  const places = shuffled(rng, POSITIONS).slice(0, count);
  const shapes: PlacedShape[] = places.map((place, i) => {
    let colour: Colour;
    let shape: Shape;
    if (i === 0 && mustHold) {
      const [c, s] = mustHold.split(' ');
      colour = c as Colour;
      shape = s as Shape;
    } else {
      do {
        colour = pick(rng, COLOUR_NAMES);
        shape = pick(rng, SHAPES);
      } while (!allowed(colourShapeKey(colour, shape)));
    }
    return { shape, colour, row: place.row, column: place.column, size: 0.11 + rng() * 0.05 };
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
  const rng = createRng(options.seed);
  const drawnPairs = chooseHeldOutPairs(rng, options.heldOutPairs ?? 4);
  const drawnPatterns = shuffled(rng, allPatterns(3)).slice(0, 2);
  const heldOutPairs = options.heldOut?.pairs ?? drawnPairs;
  const heldOutPatterns = options.heldOut?.patterns ?? drawnPatterns;
  const items: PlannedItem[] = [];
  const questions: Record<Split, TaskQuestion[]> = { train: [], test: [] };
  const splits: [Split, number][] = [
    ['train', options.train],
    ['test', options.test],
  ];
  for (const [split, count] of splits) {
    for (let i = 0; i < count; i++) {
      const mustHold =
        split === 'test' && i % 2 === 0 ? heldOutPairs[(i / 2) % heldOutPairs.length] : undefined;
      const scene = plannedScene(rng, (key) => split === 'test' || !heldOutPairs.includes(key), mustHold);
      const name = fileName('shapes', i, 'png');
      items.push({ split, name, kind: 'image', captions: sceneCaptions(scene), scene, heldOut: !!mustHold });
      const heldPair = (s: PlacedShape) => heldOutPairs.includes(colourShapeKey(s.colour, s.shape));
      for (const q of sceneQuestions(scene, rng)) {
        const novel = q.type === 'count' ? scene.shapes.some(heldPair) : heldPair(subjectOf(scene, q));
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
  return { seed: options.seed, heldOutPairs, heldOutPatterns, items, questions };
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
