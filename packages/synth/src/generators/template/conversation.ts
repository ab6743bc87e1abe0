// `conversation` samples: several questions about what the captions state (which things, their
// colours, counts, positions, actions, the background; for audio the sounds, their qualities and
// order), each answered from the facts alone. A question is only offered when its answer is
// definite, so a conversation about a sparse caption is short rather than speculative.
import type { Modality } from '@mmit/contracts';
import type { Draft, DraftTurn } from '../../draft.js';
import { capitalize, definite, joinList, sentence, uncapitalize } from '../../nlp/english.js';
import type { Mention, SceneFacts } from '../../nlp/facts.js';
import { numberWord } from '../../nlp/lexicon.js';
import type { Rng } from '../../random.js';
import { byHead, GENERIC_HEADS, mediumNoun, pluralHead, referTo } from './refer.js';

type Ask = (facts: SceneFacts, modality: Modality, rng: Rng) => DraftTurn[];

const turn = (question: string, answer: string): DraftTurn => ({
  question,
  answer: sentence(answer),
  pooled: false,
});

const whatIsThere: Ask = (facts, modality, rng) => {
  if (facts.mentions.length === 0) return [];
  const medium = mediumNoun(modality, rng);
  const list = joinList(facts.mentions.map((m) => uncapitalize(m.phrase)));
  if (modality === 'audio') {
    const q = rng.pick([
      `What sounds can be heard in the ${medium}?`,
      `What do you hear in this ${medium}?`,
      'Which sounds does it contain?',
    ]);
    return [turn(q, `The ${medium} contains ${list}`)];
  }
  const q = rng.pick([
    `What objects are in the ${medium}?`,
    `What can you see in this ${medium}?`,
    `Which things appear in the ${medium}?`,
    `What is shown in the ${medium}?`,
  ]);
  return [turn(q, `The ${medium} shows ${list}`)];
};

const colours: Ask = (facts, modality, rng) => {
  if (modality !== 'image') return [];
  const out: DraftTurn[] = [];
  for (const [head, group] of byHead(facts)) {
    if (GENERIC_HEADS.has(head) || group.some((m) => m.colours.length === 0)) continue;
    const names = [...new Set(group.map((m) => m.colours[0]))];
    if (group.length === 1 && !group[0].plural) {
      const q = rng.pick([
        `What color is the ${head}?`,
        `Which color does the ${head} have?`,
        `What is the color of the ${head}?`,
      ]);
      out.push(turn(q, `The ${head} is ${names[0]}`));
    } else {
      const plural = pluralHead(group[0]);
      const q = rng.pick([`What color are the ${plural}?`, `Which colors do the ${plural} have?`]);
      out.push(
        turn(
          q,
          names.length === 1 ? `The ${plural} are ${names[0]}` : `The ${plural} are ${joinList(names)}`,
        ),
      );
    }
  }
  if (facts.background) {
    out.push(
      turn(
        rng.pick(['What color is the background?', 'What does the background look like?']),
        `The background is ${facts.background}`,
      ),
    );
  }
  return out;
};

const counts: Ask = (facts, modality, rng) => {
  const out: DraftTurn[] = [];
  const firstByHead = new Map<string, Mention>();
  for (const m of facts.allMentions) if (!firstByHead.has(m.head)) firstByHead.set(m.head, m);
  for (const [head, n] of facts.counts) {
    const example = firstByHead.get(head);
    if (!example) continue;
    const plural = pluralHead(example);
    const where =
      modality === 'image'
        ? rng.pick(['', ' in the image', ' in the picture'])
        : rng.pick(['', ' in the clip']);
    const q = rng.pick([
      `How many ${plural} are there${where}?`,
      `How many ${plural} can be ${modality === 'image' ? 'seen' : 'heard'}?`,
      `Can you count the ${plural}?`,
    ]);
    out.push(turn(q, n === 1 ? `There is one ${head}` : `There are ${numberWord(n)} ${plural}`));
  }
  return out;
};

const positions: Ask = (facts, _modality, rng) => {
  if (_modality !== 'image') return [];
  const out: DraftTurn[] = [];
  for (const [head, group] of byHead(facts)) {
    const placed = group.filter((m) => m.position);
    if (placed.length === 0 || GENERIC_HEADS.has(head)) continue;
    if (
      placed.length === group.length &&
      group.length > 1 &&
      new Set(group.map((m) => m.colours[0])).size === 1
    ) {
      // Several alike: answer with every position rather than pretend one is "the" one.
      const where = placed.map(
        (m, i) =>
          `${i === 0 ? 'one is' : i === placed.length - 1 ? 'the last is' : 'another is'} ${m.position}`,
      );
      out.push(turn(`Where are the ${pluralHead(group[0])}?`, capitalize(joinList(where))));
      continue;
    }
    for (const m of placed) {
      const ref = referTo(m, facts);
      if (!ref) continue;
      const q = rng.pick([
        `Where is ${ref} located?`,
        `Where in the picture is ${ref}?`,
        `Where can ${ref} be found?`,
      ]);
      out.push(turn(q, `${capitalize(ref)} ${m.plural ? 'are' : 'is'} ${m.position}`));
    }
  }
  return out;
};

const actions: Ask = (facts, _modality, rng) =>
  facts.actions.flatMap((a) => {
    const subject = definite(a.subject.phrase);
    const be = a.subject.plural ? 'are' : 'is';
    const rest = a.rest ? ` ${a.rest}` : '';
    if (a.progressive) {
      return [
        turn(
          rng.pick([`What ${be} ${subject} doing?`, `What activity ${be} ${subject} engaged in?`]),
          `${capitalize(subject)} ${be} ${a.verb}${rest}`,
        ),
      ];
    }
    return [
      turn(
        `What ${a.subject.plural ? 'do' : 'does'} ${subject} do?`,
        `${capitalize(subject)} ${a.verb}${rest}`,
      ),
    ];
  });

const qualities: Ask = (facts, modality, rng) => {
  if (modality !== 'audio') return [];
  return facts.mentions
    .filter((m): m is Mention => m.qualities.length > 0 && referTo(m, facts) !== undefined)
    .slice(0, 2)
    .map((m) => {
      const ref = referTo(m, facts)!;
      const others = m.qualities.filter((q) => !ref.includes(q));
      return others.length
        ? turn(
            rng.pick([`How would you describe ${ref}?`, `What is ${ref} like?`]),
            `${capitalize(ref)} is ${joinList(others)}`,
          )
        : undefined;
    })
    .filter((t): t is DraftTurn => t !== undefined);
};

const order: Ask = (facts, modality, rng) => {
  if (facts.sequence.length < 2) return [];
  const steps = facts.sequence.map((m) => uncapitalize(m.phrase));
  const answer =
    steps.length === 2
      ? `First ${steps[0]}, then ${steps[1]}`
      : `First ${steps[0]}, then ${steps.slice(1, -1).join(', then ')}, and finally ${steps[steps.length - 1]}`;
  const noun = modality === 'audio' ? 'sounds' : 'events';
  return [
    turn(
      rng.pick([
        `In what order do the ${noun} occur?`,
        `What is the sequence of ${noun}?`,
        `Can you describe the order of the ${noun}?`,
      ]),
      answer,
    ),
  ];
};

const ASKS: Ask[] = [colours, counts, positions, actions, qualities, order];

export function conversationDraft(
  facts: SceneFacts,
  modality: Modality,
  index: number,
  rng: Rng,
): Draft | undefined {
  const opening = whatIsThere(facts, modality, rng);
  const rest = ASKS.flatMap((ask) => ask(facts, modality, rng));
  const picked = rng.sample(rest, 1 + rng.int(3));
  // Most conversations open with the overview, as LLaVA's do; some go straight to a detail.
  const turns = opening.length && (picked.length === 0 || rng.chance(0.7)) ? [...opening, ...picked] : picked;
  if (turns.length === 0) return undefined;
  return { kind: 'conversation', index, turns };
}
