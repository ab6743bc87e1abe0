// Scoring: exact-match accuracy per question type, and the chance level beside it. Chance is the
// accuracy of the best constant guess on the test questions of that type (the most frequent
// answer's share), which is at least the uniform 1/answers: a model that ignores the picture or
// sound cannot beat it in expectation.
import { QUESTION_TYPES, type QuestionType, type TaskQuestion } from './task.js';

export type Scores = Record<QuestionType, number>;

/** Lower-cased, surrounding punctuation and spaces removed: "Top left." matches "top left". */
export function normaliseAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(/^[\s.,!?;:"']+|[\s.,!?;:"']+$/g, '')
    .replace(/\s+/g, ' ');
}

function byType<T>(questions: TaskQuestion[], value: (q: TaskQuestion, i: number) => T) {
  const groups = new Map<QuestionType, T[]>();
  questions.forEach((q, i) => {
    const list = groups.get(q.type) ?? [];
    list.push(value(q, i));
    groups.set(q.type, list);
  });
  return groups;
}

/** Share of exact matches per type; NaN for a type with no question. */
export function accuracyByType(questions: TaskQuestion[], answers: string[]): Scores {
  if (answers.length !== questions.length) {
    throw new Error(`${answers.length} answers for ${questions.length} questions`);
  }
  const hits = byType(questions, (q, i) => normaliseAnswer(answers[i]) === q.answer);
  return Object.fromEntries(
    QUESTION_TYPES.map((t) => {
      const list = hits.get(t) ?? [];
      return [t, list.length === 0 ? Number.NaN : list.filter(Boolean).length / list.length];
    }),
  ) as Scores;
}

/** The most frequent answer's share per type. */
export function chanceByType(questions: TaskQuestion[]): Scores {
  const answers = byType(questions, (q) => q.answer);
  return Object.fromEntries(
    QUESTION_TYPES.map((t) => {
      const list = answers.get(t) ?? [];
      if (list.length === 0) return [t, Number.NaN];
      const counts = new Map<string, number>();
      for (const a of list) counts.set(a, (counts.get(a) ?? 0) + 1);
      return [t, Math.max(...counts.values()) / list.length];
    }),
  ) as Scores;
}
