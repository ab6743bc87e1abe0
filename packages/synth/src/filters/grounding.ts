// The grounding check: every noun an answer uses must name something the captions (or the item's
// object boxes) mention, or be generic vocabulary (the medium, positions, "colour", "total").
// It catches a writer model inventing objects; it does not judge adjectives or verbs. The small
// tagger sometimes reads a verb right after its subject as a noun ("the dog chases"), so a noun
// that directly follows another noun is not checked on its own (an invented compound, "a tennis
// racket", is still caught by its first noun).
import { tag } from '../nlp/analyze.js';
import { GENERIC_NOUNS } from '../nlp/lexicon.js';

/** Nouns of `answer` that are neither in `known` nor generic; empty when the answer is grounded. */
export function ungroundedNouns(answer: string, known: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const tokens = tag(answer);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.pos !== 'NOUN') continue;
    const previous = tokens[i - 1]?.pos;
    if (previous === 'NOUN' || previous === 'PROPN') continue;
    if (known.has(t.lemma) || known.has(t.norm) || GENERIC_NOUNS.has(t.lemma)) continue;
    out.push(t.norm);
  }
  return out;
}
