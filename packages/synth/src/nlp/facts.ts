// Symbolic facts from an item's captions: the things mentioned (with colours, counts, qualities
// and positions), the background, actions (subject + verb + rest of the clause) and, for
// captions that narrate in order ("a low beep, then a high beep"), the sequence of events.
// The template generator asks and answers questions only from these facts, so every answer it
// writes is backed by a caption. Limits: English only; counts come from number words or from
// repeated singular mentions in one caption, never from guesses; coreference is not resolved.
import { type NounPhrase, nounLemmas, nounPhrases, phraseText, type Token, tag } from './analyze.js';
import {
  COLOUR_SHADES,
  COLOURS,
  FRAME_PLACE_WORDS,
  GENERIC_HEADS,
  LOCATION_PREPOSITIONS,
  MEDIUM_NOUNS,
  NUMBER_WORDS,
  POSITION_NOUNS,
  SEQUENCE_WORDS,
} from './lexicon.js';

export interface Mention {
  /** The noun phrase as written, e.g. "a purple star". */
  phrase: string;
  /** Lemma of the head noun ("star"). */
  head: string;
  /** The head as written ("stars" when plural). */
  headText: string;
  plural: boolean;
  /** From a number word or digit in the phrase, or 1 for a/an/one + singular. */
  count?: number;
  /** True when the count comes from a number word or digit ("three shapes"), not from an article. */
  numbered: boolean;
  colours: string[];
  /** Other adjectives ("low", "short", "wooden"). */
  qualities: string[];
  /** The location phrase that follows it, e.g. "at the bottom center". */
  position?: string;
  caption: number;
}

export interface Action {
  subject: Mention;
  /** The verb as written ("riding", "barks"). */
  verb: string;
  /** The rest of the clause after the verb ("a brown horse on the beach"). */
  rest: string;
  progressive: boolean;
}

export interface SceneFacts {
  captions: string[];
  /**
   * Things in the richest caption, in order: the one naming most specific things (not "shapes"),
   * and of those the one that locates most of them.
   */
  mentions: Mention[];
  /** Every thing-mention over all captions. */
  allMentions: Mention[];
  /** Count per head lemma: the largest any one caption supports. */
  counts: Map<string, number>;
  /**
   * Counts from the one caption that counts the most kinds of thing: totals add these, never
   * counts from different captions (which may describe the same things twice).
   */
  totals: Map<string, number>;
  /** Colour of the background, when a caption names it ("beige", "light grey"). */
  background?: string;
  actions: Action[];
  /** Events in the order a caption narrates them. */
  sequence: Mention[];
  /** Noun lemmas of all captions (and box categories), for grounding checks. */
  nouns: Set<string>;
}

function numberIn(phrase: NounPhrase): number | undefined {
  for (const t of phrase.tokens) {
    if (t.pos === 'NUM') {
      const n = NUMBER_WORDS[t.norm] ?? Number(t.norm);
      if (Number.isInteger(n) && n > 0) return n;
    }
  }
  return undefined;
}

function countOf(phrase: NounPhrase): number | undefined {
  const n = numberIn(phrase);
  if (n !== undefined) return n;
  const first = phrase.tokens[0];
  const plural = phrase.head.norm !== phrase.head.lemma && phrase.head.norm.endsWith('s');
  if (!plural && first.pos === 'DET' && (first.norm === 'a' || first.norm === 'an')) return 1;
  return undefined;
}

/** Colours and other adjectives among modifiers (a colour word counts whatever the tagger called it). */
function colourWords(tokens: Token[]): { colours: string[]; qualities: string[] } {
  const colours: string[] = [];
  const qualities: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.pos !== 'ADJ' && !COLOURS.has(t.norm)) continue;
    if (COLOURS.has(t.norm)) {
      const prev = tokens[i - 1];
      colours.push(prev && COLOUR_SHADES.has(prev.norm) ? `${prev.norm} ${t.norm}` : t.norm);
    } else if (!(COLOUR_SHADES.has(t.norm) && tokens[i + 1] && COLOURS.has(tokens[i + 1].norm))) {
      qualities.push(t.norm);
    }
  }
  return { colours, qualities };
}

/**
 * The location phrase right after a noun phrase: preposition (+ "to"/"of") + the next phrase, and
 * for a frame position the place words after it (the tagger reads the "left" of "at the bottom
 * left" as the verb "leave", which ends the noun phrase at "bottom").
 */
function locationAfter(
  tokens: Token[],
  phrase: NounPhrase,
  phraseAt: Map<number, NounPhrase>,
): { text: string; landmark: NounPhrase } | undefined {
  let i = phrase.end;
  const prep = tokens[i];
  if (!prep || !LOCATION_PREPOSITIONS.has(prep.norm)) return undefined;
  i++;
  // "next to", "in front of", "on top of": absorb the second word(s).
  while (tokens[i] && (tokens[i].norm === 'to' || tokens[i].norm === 'of' || tokens[i].norm === 'front')) i++;
  const landmark = phraseAt.get(i);
  if (!landmark) return undefined;
  let end = landmark.end;
  if (POSITION_NOUNS.has(landmark.head.lemma)) {
    while (tokens[end] && FRAME_PLACE_WORDS.has(tokens[end].norm)) end++;
  }
  return { text: phraseText(tokens.slice(phrase.end, end)), landmark };
}

function mentionOf(tokens: Token[], phrase: NounPhrase, caption: number): Mention {
  // The head is the thing, not a modifier of it (it may be an adjective-tagged "square").
  const { colours, qualities } = colourWords(phrase.tokens.slice(0, -1));
  // A predicate adjective belongs to the subject: "the dog is brown".
  const next = tokens[phrase.end];
  if (next && next.pos === 'AUX') {
    const predicate: Token[] = [];
    for (let i = phrase.end + 1; i < tokens.length && ['ADJ', 'ADV', 'CCONJ'].includes(tokens[i].pos); i++) {
      if (tokens[i].pos === 'ADJ') predicate.push(tokens[i]);
    }
    const extra = colourWords(predicate);
    colours.push(...extra.colours);
    qualities.push(...extra.qualities);
  }
  const plural = phrase.head.norm !== phrase.head.lemma && phrase.head.norm.endsWith('s');
  return {
    phrase: phraseText(phrase.tokens),
    head: phrase.head.lemma,
    headText: phrase.head.norm,
    plural,
    count: countOf(phrase),
    numbered: numberIn(phrase) !== undefined,
    colours,
    qualities: qualities.filter((q) => !NUMBER_WORDS[q]),
    caption,
  };
}

function actionsIn(tokens: Token[], phrases: NounPhrase[], mentions: Map<NounPhrase, Mention>): Action[] {
  const out: Action[] = [];
  const phraseEndingAt = new Map(phrases.map((p) => [p.end, p]));
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i].pos !== 'VERB') continue;
    // The subject is the closest thing-phrase before the verb, with only auxiliaries between.
    let j = i - 1;
    while (j >= 0 && (tokens[j].pos === 'AUX' || tokens[j].pos === 'ADV')) j--;
    const subject = phraseEndingAt.get(j + 1);
    if (!subject || !mentions.has(subject)) continue;
    let end = i + 1;
    while (end < tokens.length && !['PUNCT', 'CCONJ', 'SCONJ'].includes(tokens[end].pos)) end++;
    out.push({
      subject: mentions.get(subject)!,
      verb: tokens[i].norm,
      rest: phraseText(tokens.slice(i + 1, end)),
      progressive: tokens[i].norm.endsWith('ing'),
    });
  }
  return out;
}

/** Extracts the facts of one item from its captions (and extra nouns, e.g. box categories). */
export function extractFacts(captions: string[], extraNouns: string[] = []): SceneFacts {
  const nouns = new Set<string>(extraNouns.map((n) => n.toLowerCase()));
  const perCaption: Mention[][] = [];
  const counts = new Map<string, number>();
  let totals = new Map<string, number>();
  const actions: Action[] = [];
  let background: string | undefined;
  let sequence: Mention[] = [];

  captions.forEach((caption, c) => {
    const tokens = tag(caption);
    for (const n of nounLemmas(tokens)) nouns.add(n);
    const phrases = nounPhrases(tokens);
    // Phrases never overlap, so each starts at its own token: looked up by position, not searched.
    const phraseAt = new Map(phrases.map((p) => [p.start, p]));
    const landmarks = new Set<NounPhrase>();
    const located = new Map<NounPhrase, string>();
    for (const p of phrases) {
      const loc = locationAfter(tokens, p, phraseAt);
      if (!loc) continue;
      located.set(p, loc.text);
      if (POSITION_NOUNS.has(loc.landmark.head.lemma)) landmarks.add(loc.landmark);
    }
    const mentions = new Map<NounPhrase, Mention>();
    for (const p of phrases) {
      const m = mentionOf(tokens, p, c);
      if (m.head === 'background') {
        if (m.colours.length && !background) background = m.colours[0];
        continue;
      }
      if (landmarks.has(p)) continue;
      if (POSITION_NOUNS.has(m.head) || MEDIUM_NOUNS.has(m.head)) continue;
      const position = located.get(p);
      mentions.set(p, position ? { ...m, position } : m);
    }
    const list = [...mentions.values()];
    // Heads the tagger took for adjectives ("a purple square") still name things the caption mentions.
    for (const m of list) nouns.add(m.head).add(m.headText);
    perCaption.push(list);

    const captionCounts = new Map<string, number | null>();
    for (const m of list) {
      const prev = captionCounts.get(m.head);
      if (prev === null) continue;
      captionCounts.set(m.head, m.count === undefined ? null : (prev ?? 0) + m.count);
    }
    const known = new Map<string, number>();
    for (const [head, n] of captionCounts) if (n !== null) known.set(head, n);
    for (const [head, n] of known) if (n > (counts.get(head) ?? 0)) counts.set(head, n);
    const specific = (m: Map<string, number>) => [...m.keys()].filter((h) => !GENERIC_HEADS.has(h)).length;
    if (specific(known) > specific(totals)) totals = known;

    actions.push(...actionsIn(tokens, phrases, mentions));
    if (!sequence.length && list.length >= 2 && tokens.some((t) => SEQUENCE_WORDS.has(t.norm)))
      sequence = list;
  });

  // Specific things first, so "Three shapes: a red circle, ..." (whose "shapes" adds nothing) does
  // not win over the caption that says where each thing is.
  const specificThings = (list: Mention[]) => list.filter((m) => !GENERIC_HEADS.has(m.head)).length;
  const locatedThings = (list: Mention[]) => list.filter((m) => m.position).length;
  const richest = perCaption.reduce<Mention[]>((best, list) => {
    const more = specificThings(list) - specificThings(best) || locatedThings(list) - locatedThings(best);
    return more > 0 ? list : best;
  }, []);
  return {
    captions,
    mentions: richest,
    allMentions: perCaption.flat(),
    counts,
    totals,
    background,
    actions,
    sequence,
    nouns,
  };
}
