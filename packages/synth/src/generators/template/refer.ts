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

/**
 * A definite reference to one mention that picks it out among the item's things, or undefined
 * when nothing tells it apart (two red stars, no positions asked).
 */
export function referTo(m: Mention, facts: SceneFacts): string | undefined {
  const same = facts.mentions.filter((o) => o.head === m.head);
  if (m.plural) return `the ${m.headText}`;
  if (same.length === 1) return `the ${m.head}`;
  const colour = m.colours[0];
  if (colour && same.filter((o) => o.colours[0] === colour).length === 1) return `the ${colour} ${m.head}`;
  const quality = m.qualities[0];
  if (quality && same.filter((o) => o.qualities[0] === quality).length === 1)
    return `the ${quality} ${m.head}`;
  return undefined;
}
