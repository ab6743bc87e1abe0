// `reasoning` samples: a why/how question whose answer follows from the captions by one step of
// inference: relative position from two grid positions, colour variety, totals over several
// kinds of thing, how a sound sequence changes, what an action involves. Each rule only fires
// when its premises are in the facts, and the answer states the premises it used.
import type { Modality } from '@mmit/contracts';
import type { Draft, DraftTurn } from '../../draft.js';
import { capitalize, definite, joinList, pluralOf, sentence, uncapitalize } from '../../nlp/english.js';
import type { Mention, SceneFacts } from '../../nlp/facts.js';
import { numberWord } from '../../nlp/lexicon.js';
import type { Rng } from '../../random.js';
import { GENERIC_HEADS, mediumNoun, referTo } from './refer.js';

type Rule = (facts: SceneFacts, modality: Modality, rng: Rng) => DraftTurn | undefined;

const turn = (question: string, answer: string): DraftTurn => ({
  question,
  answer: sentence(answer),
  pooled: false,
});

/** Row and column (0-2) a position phrase names, where it names them. */
function gridOf(position: string): { row?: number; col?: number } {
  const p = position.toLowerCase();
  const row = /\b(top|upper)\b/.test(p)
    ? 0
    : /\b(bottom|lower)\b/.test(p)
      ? 2
      : /\b(center|centre|middle)\b/.test(p)
        ? 1
        : undefined;
  const col = /\bleft\b/.test(p)
    ? 0
    : /\bright\b/.test(p)
      ? 2
      : /\b(center|centre|middle)\b/.test(p)
        ? 1
        : undefined;
  return { row, col };
}

const relativePosition: Rule = (facts, modality, rng) => {
  if (modality !== 'image') return undefined;
  const placed = facts.mentions
    .map((m) => ({ m, ref: referTo(m, facts), grid: m.position ? gridOf(m.position) : {} }))
    .filter((p) => p.ref && p.grid.row !== undefined && p.grid.col !== undefined);
  if (placed.length < 2) return undefined;
  const [a, b] = rng.sample(placed, 2);
  const vertical = a.grid.row! < b.grid.row! ? 'above' : a.grid.row! > b.grid.row! ? 'below' : 'level with';
  const horizontal =
    a.grid.col! < b.grid.col! ? 'to the left of' : a.grid.col! > b.grid.col! ? 'to the right of' : undefined;
  const relation =
    vertical === 'level with'
      ? (horizontal ?? 'level with')
      : horizontal
        ? `${vertical} and ${horizontal}`
        : `directly ${vertical}`;
  if (relation === 'level with') return undefined;
  const q = rng.pick([
    `How is ${a.ref} positioned relative to ${b.ref}?`,
    `Where is ${a.ref} compared with ${b.ref}, and how can you tell?`,
    `How would you describe the placement of ${a.ref} with respect to ${b.ref}?`,
  ]);
  return turn(
    q,
    `${capitalize(a.ref!)} is ${a.m.position} and ${b.ref} is ${b.m.position}, so ${a.ref} is ${relation} ${b.ref}`,
  );
};

const colourVariety: Rule = (facts, modality, rng) => {
  if (modality !== 'image') return undefined;
  const coloured = facts.mentions.filter((m) => m.colours.length > 0);
  if (coloured.length < 2) return undefined;
  const names = [...new Set(coloured.map((m) => m.colours[0]))];
  const medium = mediumNoun(modality, rng);
  if (names.length >= 2) {
    const q = rng.pick([
      `Why could this ${medium} be called colorful?`,
      `How varied are the colors in this ${medium}, and why?`,
    ]);
    return turn(
      q,
      `It mixes ${numberWord(names.length)} colors: it has ${joinList(coloured.map((m) => uncapitalize(m.phrase)))}`,
    );
  }
  const q = rng.pick([
    `What do the things in this ${medium} have in common?`,
    `How are the colors of the objects in the ${medium} related?`,
  ]);
  return turn(
    q,
    `They share one color: ${joinList(coloured.map((m) => uncapitalize(m.phrase)))} are all ${names[0]}`,
  );
};

const totals: Rule = (facts, modality, rng) => {
  const parts: string[] = [];
  let total = 0;
  for (const [head, n] of facts.totals) {
    if (GENERIC_HEADS.has(head)) continue;
    parts.push(`${numberWord(n)} ${n === 1 ? head : pluralOf(head)}`);
    total += n;
  }
  if (parts.length < 2) return undefined;
  const things = modality === 'image' ? 'objects' : 'sounds';
  const q = rng.pick([
    `How many ${things} are there in total, and how do you know?`,
    `What is the total number of ${things}, and what are they?`,
  ]);
  return turn(q, `There are ${numberWord(total)} in total: ${joinList(parts)}`);
};

const sequenceChange: Rule = (facts, modality, rng) => {
  if (facts.sequence.length < 2) return undefined;
  const qualities = facts.sequence.map((m) => m.qualities[0]);
  if (qualities.some((q) => !q) || new Set(qualities).size < 2) return undefined;
  const path = qualities.filter((q, i) => i === 0 || q !== qualities[i - 1]);
  const steps = facts.sequence.map((m) => uncapitalize(m.phrase));
  const noun = modality === 'audio' ? 'sound' : 'scene';
  const q = rng.pick([
    `How does the ${noun} change over the course of the ${mediumNoun(modality, rng)}?`,
    `How do the ${noun}s develop from start to end?`,
  ]);
  return turn(q, `It goes from ${path.join(' to ')}: ${steps[0]} is followed by ${joinList(steps.slice(1))}`);
};

const actionInvolves: Rule = (facts, _modality, rng) => {
  const a = facts.actions.find((x) => x.rest.length > 0);
  if (!a) return undefined;
  const subject = definite(a.subject.phrase);
  const be = a.subject.plural ? 'are' : 'is';
  const q = rng.pick([`What is ${subject} occupied with?`, `What is ${subject} busy with at this moment?`]);
  return turn(
    q,
    a.progressive
      ? `${capitalize(subject)} ${be} ${a.verb} ${a.rest}`
      : `${capitalize(subject)} ${a.verb} ${a.rest}`,
  );
};

const mainSubject: Rule = (facts, modality, rng) => {
  const m: Mention | undefined = facts.mentions.find((x) => !GENERIC_HEADS.has(x.head));
  if (!m) return undefined;
  const medium = mediumNoun(modality, rng);
  const where = m.position ? `, ${m.position}` : '';
  return turn(
    `What is the main subject of this ${medium}, and where is it?`.replace(
      ', and where is it',
      m.position ? ', and where is it' : '',
    ),
    `The main subject is ${uncapitalize(m.phrase)}${where}`,
  );
};

const RULES: Rule[] = [relativePosition, colourVariety, totals, sequenceChange, actionInvolves];

export function reasoningDraft(
  facts: SceneFacts,
  modality: Modality,
  index: number,
  rng: Rng,
): Draft | undefined {
  const candidates = RULES.map((rule) => rule(facts, modality, rng)).filter(
    (t): t is DraftTurn => t !== undefined,
  );
  const chosen = candidates.length ? rng.pick(candidates) : mainSubject(facts, modality, rng);
  if (!chosen) return undefined;
  return { kind: 'reasoning', index, turns: [chosen] };
}
