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
    const list = byPlace.get(place);
    if (list) list.push(m);
    else byPlace.set(place, [m]);
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

/**
 * What the place questions ask of the placed things and the ambiguous mentions, counted in one
 * pass (asking each thing about every other made a caption with thousands of things quadratic).
 */
class PlaceTally {
  private readonly count = new Map<string, number>();
  private readonly ambiguousKeys = new Set<string>();

  constructor(things: PlacedThing[], ambiguous: Mention[]) {
    const bump = (key: string) => this.count.set(key, (this.count.get(key) ?? 0) + 1);
    for (const t of things) {
      bump(`head:${t.head}`);
      for (const c of t.colours) {
        bump(`colour:${c}`);
        bump(`pair:${t.head}\0${c}`);
      }
    }
    for (const m of ambiguous) {
      this.ambiguousKeys.add(`head:${m.head}`);
      if (m.colours.length === 0) {
        this.ambiguousKeys.add('colourless');
        this.ambiguousKeys.add(`colourless:${m.head}`);
      }
      for (const c of m.colours) {
        this.ambiguousKeys.add(`colour:${c}`);
        this.ambiguousKeys.add(`pair:${m.head}\0${c}`);
      }
    }
  }

  /** Placed things of this head. */
  ofHead(head: string): number {
    return this.count.get(`head:${head}`) ?? 0;
  }
  /** Placed things with this colour among theirs. */
  ofColour(colour: string): number {
    return this.count.get(`colour:${colour}`) ?? 0;
  }
  /** Placed things of this head with this colour among theirs. */
  ofPair(head: string, colour: string): number {
    return this.count.get(`pair:${head}\0${colour}`) ?? 0;
  }
  /** Whether an ambiguous mention has this head. */
  ambiguousHead(head: string): boolean {
    return this.ambiguousKeys.has(`head:${head}`);
  }
  /** Whether an ambiguous mention could be this colour (it has it, or has no colour at all). */
  ambiguousColour(colour: string): boolean {
    return this.ambiguousKeys.has('colourless') || this.ambiguousKeys.has(`colour:${colour}`);
  }
  /** Whether an ambiguous mention of this head could be this colour. */
  ambiguousPair(head: string, colour: string): boolean {
    return this.ambiguousKeys.has(`colourless:${head}`) || this.ambiguousKeys.has(`pair:${head}\0${colour}`);
  }
}

function placeQuestions(facts: SceneFacts): VqaQuestion[] {
  const { things, ambiguous } = placedThings(facts);
  const tally = new PlaceTally(things, ambiguous);
  const colourOf = (t: PlacedThing) => (t.colours.size === 1 ? [...t.colours][0] : undefined);
  const colour: VqaQuestion[] = [];
  const object: VqaQuestion[] = [];
  const position: VqaQuestion[] = [];
  for (const t of things) {
    const c = colourOf(t);
    // "the circle" must be the only circle; "the red object" the only red thing.
    const onlyOfKind =
      tally.ofHead(t.head) === 1 && !tally.ambiguousHead(t.head) && (facts.counts.get(t.head) ?? 0) <= 1;
    const onlyOfColour = c !== undefined && tally.ofColour(c) === 1 && !tally.ambiguousColour(c);
    if (c && onlyOfKind && !GENERIC_HEADS.has(t.head))
      colour.push({ type: 'color', question: vqaPhrasing.color(t.head), answer: c });
    // "What is the red object?" -> "shape" says nothing.
    if (c && onlyOfColour && !GENERIC_HEADS.has(t.head))
      object.push({ type: 'object', question: vqaPhrasing.object(c), answer: t.head });
    if (c && isOnlyOne(t.head, c, tally, facts)) {
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
function isOnlyOne(head: string, colour: string, tally: PlaceTally, facts: SceneFacts): boolean {
  if (tally.ofPair(head, colour) !== 1) return false;
  if (tally.ambiguousPair(head, colour)) return false;
  return (facts.counts.get(head) ?? 0) <= tally.ofHead(head);
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
  const perCaptionHead = new Map<string, number>();
  const key = (m: Mention) => `${m.caption}\0${m.head}`;
  for (const m of facts.allMentions) perCaptionHead.set(key(m), (perCaptionHead.get(key(m)) ?? 0) + 1);
  for (const m of facts.allMentions) {
    if (!m.numbered || m.count === undefined) continue;
    if (perCaptionHead.get(key(m)) !== 1) continue;
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
