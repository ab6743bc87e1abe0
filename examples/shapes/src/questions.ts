// Questions with known exact answers about one picture or one clip, phrased as synth's `vqa`
// kind phrases them (LLaVA-1.5's short-answer format), so the questions the tuned model is asked
// at test time are the ones the pipeline taught it to answer. Each has exactly one right answer:
// a shape is named by its kind only when it is the only one of its kind, by its colour only when
// it is the only one of its colour, by both only when no other shape has the pair.
import { type BeepClip, type PlacedShape, pick, type Scene } from '@mmit/media';
import { VQA_FORMAT_PROMPT, vqaPhrasing } from '@mmit/synth';
import { countWord, POSITIONS, type PositionName, type QuestionType } from './task.js';

export interface AskedQuestion {
  type: QuestionType;
  question: string;
  answer: string;
}

/** The appended instruction of LLaVA-1.5's short-answer data. */
export const FORMAT_PROMPT = VQA_FORMAT_PROMPT;

/** One phrasing per question type: synth's own, so test questions are worded as training ones. */
export const phrasing = {
  colour: (shape: string) => vqaPhrasing.color(shape),
  shape: (colour: string) => vqaPhrasing.object(colour),
  count: () => vqaPhrasing.count('shapes'),
  position: (colour: string, shape: string) => vqaPhrasing.position(colour, shape),
  beeps: () => vqaPhrasing.count('beeps'),
  pitch: (which: 'first' | 'last') => vqaPhrasing.quality('pitch', which, 'beep'),
};

export function positionName(shape: Pick<PlacedShape, 'row' | 'column'>): PositionName {
  const place = POSITIONS.find((p) => p.row === shape.row && p.column === shape.column);
  if (!place) {
    throw new RangeError(
      `row ${shape.row}, column ${shape.column} is not one of the task's places: ${POSITIONS.map((p) => p.name).join(', ')}`,
    );
  }
  return place.name;
}

const only = (scene: Scene, same: (a: PlacedShape, b: PlacedShape) => boolean) =>
  scene.shapes.filter((s) => scene.shapes.filter((t) => same(s, t)).length === 1);

/** Every question the scene supports, of every image type. */
export function allSceneQuestions(scene: Scene): AskedQuestion[] {
  return [
    ...only(scene, (a, b) => a.shape === b.shape).map((s) => ({
      type: 'colour' as const,
      question: phrasing.colour(s.shape),
      answer: s.colour,
    })),
    ...only(scene, (a, b) => a.colour === b.colour).map((s) => ({
      type: 'shape' as const,
      question: phrasing.shape(s.colour),
      answer: s.shape,
    })),
    { type: 'count', question: phrasing.count(), answer: countWord(scene.shapes.length) },
    ...only(scene, (a, b) => a.colour === b.colour && a.shape === b.shape).map((s) => ({
      type: 'position' as const,
      question: phrasing.position(s.colour, s.shape),
      answer: positionName(s),
    })),
  ];
}

/**
 * Every question the clip supports: how many beeps, and with two or more the pitch of the first
 * and of the last (as synth asks: "the first beep" of a single beep is not a question it writes).
 */
export function allClipQuestions(clip: BeepClip): AskedQuestion[] {
  const beeps: AskedQuestion = {
    type: 'beeps',
    question: phrasing.beeps(),
    answer: countWord(clip.beeps.length),
  };
  if (clip.beeps.length < 2) return [beeps];
  const last = clip.beeps[clip.beeps.length - 1];
  return [
    beeps,
    { type: 'pitch', question: phrasing.pitch('first'), answer: clip.beeps[0].pitch },
    { type: 'pitch', question: phrasing.pitch('last'), answer: last.pitch },
  ];
}

/**
 * The shape a colour, shape or position question is about (the one its wording names); none for
 * a count, which is about the whole picture.
 */
export function questionSubject(scene: Scene, q: AskedQuestion): PlacedShape | undefined {
  const asks = {
    colour: (s: PlacedShape) => phrasing.colour(s.shape),
    shape: (s: PlacedShape) => phrasing.shape(s.colour),
    position: (s: PlacedShape) => phrasing.position(s.colour, s.shape),
  } as Partial<Record<QuestionType, (s: PlacedShape) => string>>;
  const wording = asks[q.type];
  return wording ? scene.shapes.find((s) => wording(s) === q.question) : undefined;
}

/** The test questions: one of each image type the scene supports. */
export function sceneQuestions(scene: Scene, rng: () => number): AskedQuestion[] {
  const all = allSceneQuestions(scene);
  const one = (type: QuestionType) => {
    const of = all.filter((q) => q.type === type);
    return of.length > 0 ? [pick(rng, of)] : [];
  };
  return [...one('colour'), ...one('shape'), ...one('count'), ...one('position')];
}

/** How many beeps, and (two or more) the pitch of the first or the last one. */
export function clipQuestions(clip: BeepClip, rng: () => number): AskedQuestion[] {
  const [beeps, first, last] = allClipQuestions(clip);
  const which = rng() < 0.5 ? first : last;
  return which ? [beeps, which] : [beeps];
}
