// `brief` and `detailed` samples: an instruction from the pool and an answer made of captions.
// Brief answers are one caption (LLaVA stage 1); detailed answers merge the captions that add
// something new (a noun not yet mentioned) and close with facts the merge makes explicit:
// totals, the background colour, the order of sounds.
import type { Modality } from '@mmit/contracts';
import type { Draft } from '../../draft.js';
import { tag } from '../../nlp/analyze.js';
import { joinList, pluralOf, sentence, uncapitalize } from '../../nlp/english.js';
import type { SceneFacts } from '../../nlp/facts.js';
import { numberWord } from '../../nlp/lexicon.js';
import { briefPool, detailedPool } from '../../pools.js';
import type { Rng } from '../../random.js';
import { GENERIC_HEADS } from './refer.js';

export function briefDraft(facts: SceneFacts, modality: Modality, index: number, rng: Rng): Draft {
  const question = rng.pick(briefPool(modality));
  // Successive brief samples of one item walk through its captions.
  const caption = facts.captions[(rng.int(facts.captions.length) + index) % facts.captions.length];
  return { kind: 'brief', index, turns: [{ question, answer: sentence(caption), pooled: true }] };
}

const CONNECTORS = ['In addition, ', 'Also, ', 'Besides that, ', 'Moreover, ', ''];

function totalsSentence(facts: SceneFacts, modality: Modality): string | undefined {
  const parts: string[] = [];
  let total = 0;
  for (const [head, n] of facts.totals) {
    if (GENERIC_HEADS.has(head)) continue;
    parts.push(`${numberWord(n)} ${n === 1 ? head : pluralOf(head)}`);
    total += n;
  }
  if (parts.length < 2) return undefined;
  const things = modality === 'image' ? 'things' : 'sounds';
  return `Altogether there are ${numberWord(total)} ${things}: ${joinList(parts)}.`;
}

export function detailedDraft(facts: SceneFacts, modality: Modality, index: number, rng: Rng): Draft {
  const question = rng.pick(detailedPool(modality));
  const seen = new Set<string>();
  const unique = [
    ...new Map(facts.captions.map((c) => [c.toLowerCase().replace(/\W+/g, ' ').trim(), c])).values(),
  ];
  const ordered = unique.sort((a, b) => b.length - a.length);
  const sentences: string[] = [];
  for (const caption of ordered) {
    const nouns = tag(caption)
      .filter((t) => t.pos === 'NOUN' || t.pos === 'PROPN')
      .map((t) => t.lemma);
    const adds = nouns.some((n) => !seen.has(n)) || sentences.length === 0;
    for (const n of nouns) seen.add(n);
    if (!adds) continue;
    const connector = sentences.length === 0 ? '' : rng.pick(CONNECTORS);
    sentences.push(sentence(connector ? `${connector}${uncapitalize(caption)}` : caption));
  }
  const totals = totalsSentence(facts, modality);
  if (totals) sentences.push(totals);
  if (facts.background && !seen.has('background')) sentences.push(`The background is ${facts.background}.`);
  return { kind: 'detailed', index, turns: [{ question, answer: sentences.join(' '), pooled: true }] };
}
