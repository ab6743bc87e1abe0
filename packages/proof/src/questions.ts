// Questions with known exact answers about one picture or one clip. Each is phrased so exactly
// one answer word is right: shapes are asked about by place (places are distinct in a scene) and
// placed by colour and shape only when no other shape in the scene has the same pair.
import type { BeepClip, PlacedShape, Scene } from '@mmit/media';
import { countWord, POSITIONS, type QuestionType } from './task.js';

export interface AskedQuestion {
  type: QuestionType;
  question: string;
  answer: string;
}

export function positionName(shape: Pick<PlacedShape, 'row' | 'column'>): string {
  const place = POSITIONS.find((p) => p.row === shape.row && p.column === shape.column);
  if (!place) {
    throw new RangeError(
      `row ${shape.row}, column ${shape.column} is not one of the task's places: ${POSITIONS.map((p) => p.name).join(', ')}`,
    );
  }
  return place.name;
}

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)];
}

/** One question of each image type (position only when some shape is unique by colour and shape). */
export function sceneQuestions(scene: Scene, rng: () => number): AskedQuestion[] {
  const asked: AskedQuestion[] = [];
  const about = pick(rng, scene.shapes);
  asked.push({
    type: 'colour',
    question: `What colour is the shape at the ${positionName(about)}?`,
    answer: about.colour,
  });
  const other = pick(rng, scene.shapes);
  asked.push({
    type: 'shape',
    question: `What shape is at the ${positionName(other)}?`,
    answer: other.shape,
  });
  asked.push({
    type: 'count',
    question: 'How many shapes are there?',
    answer: countWord(scene.shapes.length),
  });
  const unique = scene.shapes.filter(
    (s) => scene.shapes.filter((t) => t.colour === s.colour && t.shape === s.shape).length === 1,
  );
  if (unique.length > 0) {
    const target = pick(rng, unique);
    asked.push({
      type: 'position',
      question: `Where is the ${target.colour} ${target.shape}?`,
      answer: positionName(target),
    });
  }
  return asked;
}

/** How many beeps, and the pitch of the first or the last one. */
export function clipQuestions(clip: BeepClip, rng: () => number): AskedQuestion[] {
  const which = rng() < 0.5 ? 'first' : 'last';
  const beep = which === 'first' ? clip.beeps[0] : clip.beeps[clip.beeps.length - 1];
  return [
    { type: 'beeps', question: 'How many beeps are there?', answer: countWord(clip.beeps.length) },
    { type: 'pitch', question: `What is the pitch of the ${which} beep?`, answer: beep.pitch },
  ];
}
