// Short-answer questions in LLaVA-1.5's VQA format ("What color is the star?" -> "red"), read
// from the facts of an item's captions. A thing is named by what it looks like (its kind for a
// colour question, its colour for an object question, both for a place question), so every
// question points at one thing by content; places are asked for, never given. Every answer is a word or phrase a caption
// states, and a question is only asked when its answer is unambiguous: a place two things claim,
// a colour-shape pair that occurs twice, or counts two captions disagree on are skipped, never
// guessed. Limits: English captions; places are frame-grid places only ("top left", "center");
// counts come from number words or a narrated sequence in ONE caption, never from sums over
// several captions (which may describe the same things twice); numbers one to ten.
import { pluralOf } from './nlp/english.js';
import { extractFacts, type Mention, type SceneFacts } from './nlp/facts.js';
import { FRAME_PLACE_WORDS, GENERIC_HEADS, numberWord, QUALITY_DIMENSIONS } from './nlp/lexicon.js';

/** LLaVA-1.5's response-format prompt, appended to each short-answer question. */
export const VQA_FORMAT_PROMPT = 'Answer the question using a single word or phrase.';

export type VqaQuestionType = 'color' | 'object' | 'count' | 'position' | 'events' | 'quality';

export interface VqaQuestion {
  type: VqaQuestionType;
  question: string;
  /** Lower case, no final period. */
  answer: string;
}

/** The phrasings, one per type: the learning proof's answer key uses these exact functions. */
export const vqaPhrasing = {
  color: (head: string): string => `What color is the ${head}?`,
  object: (colour: string): string => `What is the ${colour} object?`,
  count: (plural: string): string => `How many ${plural} are there?`,
  position: (colour: string, head: string): string => `Where is the ${colour} ${head}?`,
  quality: (dimension: string, which: 'first' | 'last', head: string): string =>
    `What is the ${dimension} of the ${which} ${head}?`,
};

const MAX_COUNT = 10;
/** Prepositions that put a thing at a place ("near the top" does not say it is at the top). */
const AT_PLACE = new Set(['at', 'in', 'on']);

/** Every short-answer question the facts of these captions support, in a fixed order. */
export function vqaQuestions(captions: string[]): VqaQuestion[] {
  return vqaQuestionsOf(extractFacts(captions));
}

/** The same from facts already extracted (the synthesizer has them). */
export function vqaQuestionsOf(facts: SceneFacts): VqaQuestion[] {
  const questions = [...placeQuestions(facts), ...countQuestions(facts), ...qualityQuestions(facts)];
  // Two routes to one question with different answers would be a contradiction: ask neither.
  const answers = new Map<string, Set<string>>();
  for (const q of questions) answers.set(q.question, (answers.get(q.question) ?? new Set()).add(q.answer));
  const seen = new Set<string>();
  return questions.filter((q) => {
    if (answers.get(q.question)!.size > 1 || seen.has(q.question)) return false;
    seen.add(q.question);
    return true;
  });
}

/** "at the top left" -> "top left"; undefined when the phrase names no place in the frame's grid. */
export function placeOf(position: string): string | undefined {
  const [preposition, article, ...words] = position.toLowerCase().split(/\s+/);
  if (!AT_PLACE.has(preposition) || article !== 'the' || words.length === 0) return undefined;
  return words.every((w) => FRAME_PLACE_WORDS.has(w)) ? words.join(' ') : undefined;
}

/** One thing at one place, merged over the captions that locate it. */
interface PlacedThing {
  place: string;
  head: string;
  colours: Set<string>;
}

/**
 * Things by place. A place is dropped (returned in `ambiguous`) when one caption puts two things
 * there, captions disagree on what is there, or a plural ("two circles at the top") stands there.
 */
function placedThings(facts: SceneFacts): { things: PlacedThing[]; ambiguous: Mention[] } {
  const byPlace = new Map<string, Mention[]>();
  for (const m of facts.allMentions) {
    const place = m.position && placeOf(m.position);
    if (!place) continue;
    byPlace.set(place, [...(byPlace.get(place) ?? []), m]);
  }
  const things: PlacedThing[] = [];
  const ambiguous: Mention[] = [];
  for (const [place, mentions] of byPlace) {
    const captions = mentions.map((m) => m.caption);
    const clear =
      new Set(captions).size === captions.length &&
      new Set(mentions.map((m) => m.head)).size === 1 &&
      mentions.every((m) => !m.plural && (m.count ?? 1) === 1);
    if (!clear) {
      ambiguous.push(...mentions);
      continue;
    }
    things.push({ place, head: mentions[0].head, colours: new Set(mentions.flatMap((m) => m.colours)) });
  }
  return { things, ambiguous };
}

function placeQuestions(facts: SceneFacts): VqaQuestion[] {
  const { things, ambiguous } = placedThings(facts);
  const colourOf = (t: PlacedThing) => (t.colours.size === 1 ? [...t.colours][0] : undefined);
  const colour: VqaQuestion[] = [];
  const object: VqaQuestion[] = [];
  const position: VqaQuestion[] = [];
  for (const t of things) {
    const c = colourOf(t);
    // "the circle" must be the only circle; "the red object" the only red thing.
    const onlyOfKind =
      things.filter((o) => o.head === t.head).length === 1 &&
      !ambiguous.some((m) => m.head === t.head) &&
      (facts.counts.get(t.head) ?? 0) <= 1;
    const onlyOfColour =
      c !== undefined &&
      things.filter((o) => o.colours.has(c)).length === 1 &&
      !ambiguous.some((m) => m.colours.length === 0 || m.colours.includes(c));
    if (c && onlyOfKind && !GENERIC_HEADS.has(t.head))
      colour.push({ type: 'color', question: vqaPhrasing.color(t.head), answer: c });
    // "What is the red object?" -> "shape" says nothing.
    if (c && onlyOfColour && !GENERIC_HEADS.has(t.head))
      object.push({ type: 'object', question: vqaPhrasing.object(c), answer: t.head });
    if (c && isOnlyOne(t.head, c, things, ambiguous, facts)) {
      position.push({ type: 'position', question: vqaPhrasing.position(c, t.head), answer: t.place });
    }
  }
  return [...colour, ...object, ...position];
}

/**
 * Whether "the <colour> <head>" can only mean one thing: no other placed or unplaceable mention
 * has the pair, and no caption counts more things of that head than are placed (the extra ones
 * might share the colour).
 */
function isOnlyOne(
  head: string,
  colour: string,
  things: PlacedThing[],
  ambiguous: Mention[],
  facts: SceneFacts,
): boolean {
  const placed = things.filter((t) => t.head === head);
  if (placed.filter((t) => t.colours.has(colour)).length !== 1) return false;
  if (ambiguous.some((m) => m.head === head && (m.colours.length === 0 || m.colours.includes(colour))))
    return false;
  return (facts.counts.get(head) ?? 0) <= placed.length;
}

/**
 * "How many <plural> are there?": from a number word when it is the caption's only mention of the
 * head, and from a narrated sequence of single events of one kind (typed `events`). Sources that
 * disagree cancel each other.
 */
function countQuestions(facts: SceneFacts): VqaQuestion[] {
  const found = new Map<string, { plural: string; counts: Set<number>; narrated: boolean }>();
  const note = (head: string, plural: string, n: number, narrated: boolean) => {
    const entry = found.get(head) ?? { plural, counts: new Set<number>(), narrated: false };
    entry.counts.add(n);
    entry.narrated ||= narrated;
    found.set(head, entry);
  };
  const sequence = facts.sequence;
  const heads = new Set(sequence.map((m) => m.head));
  if (sequence.length > 0 && heads.size === 1 && sequence.every((m) => !m.plural && m.count === 1)) {
    note(sequence[0].head, pluralOf(sequence[0].head), sequence.length, true);
  }
  for (const m of facts.allMentions) {
    if (!m.numbered || m.count === undefined) continue;
    const sameHead = facts.allMentions.filter((o) => o.caption === m.caption && o.head === m.head);
    if (sameHead.length !== 1) continue;
    note(m.head, m.plural ? m.headText : pluralOf(m.head), m.count, false);
  }
  const out: VqaQuestion[] = [];
  for (const { plural, counts, narrated } of found.values()) {
    const [n] = counts;
    if (counts.size !== 1 || n > MAX_COUNT) continue;
    out.push({
      type: narrated ? 'events' : 'count',
      question: vqaPhrasing.count(plural),
      answer: numberWord(n),
    });
  }
  return out;
}

/** The quality of the first and of the last event of a narrated sequence, per known dimension. */
function qualityQuestions(facts: SceneFacts): VqaQuestion[] {
  const { sequence } = facts;
  if (sequence.length < 2) return [];
  const ends: ['first' | 'last', Mention][] = [
    ['first', sequence[0]],
    ['last', sequence[sequence.length - 1]],
  ];
  const out: VqaQuestion[] = [];
  for (const [which, event] of ends) {
    const byDimension = new Map<string, Set<string>>();
    for (const q of event.qualities) {
      const dimension = QUALITY_DIMENSIONS[q];
      if (dimension) byDimension.set(dimension, (byDimension.get(dimension) ?? new Set()).add(q));
    }
    for (const [dimension, words] of byDimension) {
      if (words.size !== 1) continue;
      out.push({
        type: 'quality',
        question: vqaPhrasing.quality(dimension, which, event.head),
        answer: [...words][0],
      });
    }
  }
  return out;
}
