// Part-of-speech tagging and noun-phrase chunking through wink-nlp's English model. The tagger
// gives Universal Dependencies tags and lemmas; chunks are maximal runs of determiner, number,
// adjective and noun tokens that contain a noun, with the last noun as the head. Only the
// tagger runs (no NER, sentiment or negation) because that is all synthesis needs and it keeps
// a parse well under a millisecond.

import model from 'wink-eng-lite-web-model';
import winkNLP, { type ItsFunction } from 'wink-nlp';
import { COLOURS } from './lexicon.js';

const nlp = winkNLP(model, ['sbd', 'pos']);
const its = nlp.its;

export interface Token {
  /** Surface form as written. */
  text: string;
  /** Lower-case surface form. */
  norm: string;
  lemma: string;
  /** Universal Dependencies tag: NOUN, VERB, ADJ, DET, NUM, ADP, AUX, PUNCT, ... */
  pos: string;
}

export interface NounPhrase {
  /** Index of the first token and one past the last. */
  start: number;
  end: number;
  tokens: Token[];
  head: Token;
}

/** Tags a text into tokens. Whitespace tokens are dropped. */
export function tag(text: string): Token[] {
  const doc = nlp.readDoc(text);
  const texts = doc.tokens().out() as string[];
  const tags = doc.tokens().out(its.pos) as string[];
  // wink's typings declare `its.lemma` with the raw-document signature; at run time it is a token its.
  const lemmas = doc.tokens().out(its.lemma as unknown as ItsFunction<string>) as string[];
  const out: Token[] = [];
  for (let i = 0; i < texts.length; i++) {
    if (tags[i] === 'SPACE') continue;
    out.push({ text: texts[i], norm: texts[i].toLowerCase(), lemma: lemmas[i].toLowerCase(), pos: tags[i] });
  }
  return out;
}

const NOUNISH = new Set(['NOUN', 'PROPN']);
const PHRASE_PARTS = new Set(['DET', 'NUM', 'ADJ', 'NOUN', 'PROPN']);

/**
 * Maximal runs of DET/NUM/ADJ/NOUN holding a noun; a determiner only opens a run, and an adverb
 * stays inside when an adjective follows it ("a light grey background"). The small model tags
 * some nouns as adjectives ("a purple square at ...", and "an orange square" with "orange" as
 * the noun): a run that opens with a determiner and ends in a non-colour adjective before a
 * preposition, punctuation or the end takes that adjective as its head, when no noun or only a
 * colour word comes before it.
 */
export function nounPhrases(tokens: Token[]): NounPhrase[] {
  const out: NounPhrase[] = [];
  const inRun = (i: number) =>
    PHRASE_PARTS.has(tokens[i].pos) || (tokens[i].pos === 'ADV' && tokens[i + 1]?.pos === 'ADJ');
  let i = 0;
  while (i < tokens.length) {
    if (!PHRASE_PARTS.has(tokens[i].pos)) {
      i++;
      continue;
    }
    const start = i;
    i++;
    while (i < tokens.length && inRun(i) && tokens[i].pos !== 'DET') i++;
    let end = i;
    while (end > start && !NOUNISH.has(tokens[end - 1].pos)) end--;
    const nounBefore = end > start ? tokens[end - 1] : undefined;
    if ((!nounBefore || COLOURS.has(nounBefore.norm)) && nominalAdjective(tokens, start, i)) end = i;
    if (end > start) {
      const span = tokens.slice(start, end);
      out.push({ start, end, tokens: span, head: span[span.length - 1] });
    }
  }
  return out;
}

const PHRASE_ENDS = new Set(['ADP', 'PUNCT', 'CCONJ']);

function nominalAdjective(tokens: Token[], start: number, end: number): boolean {
  const last = tokens[end - 1];
  const after = tokens[end];
  return (
    end - start >= 2 &&
    tokens[start].pos === 'DET' &&
    last.pos === 'ADJ' &&
    !COLOURS.has(last.norm) &&
    (!after || PHRASE_ENDS.has(after.pos))
  );
}

/** Lemmas of the nouns in a text (common and proper), for grounding checks. */
export function nounLemmas(tokens: Token[]): string[] {
  return tokens.filter((t) => NOUNISH.has(t.pos)).map((t) => t.lemma);
}

export function phraseText(tokens: Token[]): string {
  let out = '';
  for (const t of tokens) {
    if (out && !/^[,.;:!?)]/.test(t.text) && !out.endsWith('(')) out += ' ';
    out += t.text;
  }
  return out;
}

/** Words in a text, as the filters and histograms count them (tokens that are not punctuation). */
export function wordCount(text: string): number {
  const m = text.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu);
  return m ? m.length : 0;
}
