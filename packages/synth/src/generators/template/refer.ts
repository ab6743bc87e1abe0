// How templates refer to things: "the star" when it is the only star, "the red star" when the
// colour tells stars apart, "the stars" for several alike. Also the medium's nouns per modality.
import type { Modality } from '@mmit/contracts';
import { pluralOf } from '../../nlp/english.js';
import type { Mention, SceneFacts } from '../../nlp/facts.js';
import type { Rng } from '../../random.js';

export function mediumNoun(modality: Modality, rng: Rng): string {
  return rng.pick(modality === 'image' ? ['image', 'picture', 'photo'] : ['clip', 'recording', 'audio']);
}

export { GENERIC_HEADS } from '../../nlp/lexicon.js';

/** Mentions of the richest caption grouped by head noun, in order of first mention. */
export function byHead(facts: SceneFacts): Map<string, Mention[]> {
  const groups = new Map<string, Mention[]>();
  for (const m of facts.mentions) {
    const list = groups.get(m.head) ?? [];
    list.push(m);
    groups.set(m.head, list);
  }
  return groups;
}

export function pluralHead(m: Mention): string {
  return m.plural ? m.headText : pluralOf(m.head);
}

/** How many of an item's mentions share a head, a head and first colour, a head and first quality. */
interface MentionTally {
  head: Map<string, number>;
  headColour: Map<string, number>;
  headQuality: Map<string, number>;
}

// Counted once per facts object: referTo is asked about every mention, and counting the others
// afresh each time made a caption with thousands of mentions cost their square.
const tallies = new WeakMap<SceneFacts, MentionTally>();

function tallyOf(facts: SceneFacts): MentionTally {
  let tally = tallies.get(facts);
  if (tally) return tally;
  tally = { head: new Map(), headColour: new Map(), headQuality: new Map() };
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  for (const m of facts.mentions) {
    bump(tally.head, m.head);
    if (m.colours[0]) bump(tally.headColour, `${m.head}\0${m.colours[0]}`);
    if (m.qualities[0]) bump(tally.headQuality, `${m.head}\0${m.qualities[0]}`);
  }
  tallies.set(facts, tally);
  return tally;
}

/**
 * A definite reference to one mention that picks it out among the item's things, or undefined
 * when nothing tells it apart (two red stars, no positions asked).
 */
export function referTo(m: Mention, facts: SceneFacts): string | undefined {
  if (m.plural) return `the ${m.headText}`;
  const tally = tallyOf(facts);
  if (tally.head.get(m.head) === 1) return `the ${m.head}`;
  const colour = m.colours[0];
  if (colour && tally.headColour.get(`${m.head}\0${colour}`) === 1) return `the ${colour} ${m.head}`;
  const quality = m.qualities[0];
  if (quality && tally.headQuality.get(`${m.head}\0${quality}`) === 1) return `the ${quality} ${m.head}`;
  return undefined;
}
