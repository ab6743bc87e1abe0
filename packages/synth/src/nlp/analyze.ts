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

/**
 * The longest run of non-space characters handed to wink as it is. wink tests every token with
 * patterns such as `/[a-z].*\.$/i` (its abbreviation feature), whose cost grows with the square of
 * the token's length: one 500 KB "word" took minutes. No word of any language is this long, so a
 * longer run (a pasted hash, URL or junk) is cut into pieces of this size first, which keeps a
 * parse linear in the text's length and changes nothing for real words.
 */
export const MAX_TOKEN_CHARS = 64;
const LONG_RUN = new RegExp(`\\S{${MAX_TOKEN_CHARS + 1},}`, 'gu');
const PIECE = new RegExp(`\\S{1,${MAX_TOKEN_CHARS}}`, 'gu');

function cutLongRuns(text: string): string {
  return text.replace(LONG_RUN, (run) => (run.match(PIECE) ?? []).join(' '));
}

/** Tags a text into tokens. Whitespace tokens are dropped. */
export function tag(text: string): Token[] {
  const doc = nlp.readDoc(cutLongRuns(text));
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
  // Parts joined once at the end: asking a growing concatenated string for its last character
  // flattens it every time, which made long phrases quadratic.
  const parts: string[] = [];
  let previous = '';
  for (const t of tokens) {
    if (previous !== '' && !/^[,.;:!?)]/.test(t.text) && !previous.endsWith('(')) parts.push(' ');
    parts.push(t.text);
    if (t.text !== '') previous = t.text;
  }
  return parts.join('');
}

/** Words in a text, as the filters and histograms count them (tokens that are not punctuation). */
export function wordCount(text: string): number {
  const m = text.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu);
  return m ? m.length : 0;
}
