// Captions far longer than any real one, in the shapes that once made synthesis cost the square
// of their length (each line names the step it exposed). Shared by the cost test and the bench.

/** Repeats `unit` to exactly `chars` characters. */
function repeated(unit: string): (chars: number) => string {
  return (chars) => unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);
}

export const LONG_CAPTION_SHAPES: Record<string, (chars: number) => string> = {
  /** Ordinary sentences: the baseline every other shape is compared with. */
  prose: repeated('A man is riding a brown horse on the beach near the blue sea. '),
  /** One giant word: wink's per-token patterns (`/[a-z].*\.$/`) scanned it once per character. */
  'one-word': repeated('a'),
  /** Words joined by zero-width spaces (not whitespace to a tokenizer): the same, with more tokens. */
  'zero-width-joined': repeated('star\u200b'),
  /** One endless noun phrase: the phrase text was rebuilt with a check that flattened it each word. */
  'noun-run': repeated('the star horse dog car circle '),
  /** Thousands of listed things: each was compared with every other to find how to refer to it. */
  'listed-things': repeated('a star, '),
  /** Thousands of placed things: the same, for the place and colour questions. */
  'placed-things': repeated('a red star at the top left, a blue circle in the center, '),
  /** Thousands of counted things: each count was checked against every other mention. */
  'counted-things': repeated('two stars and three circles, '),
  /** Thousands of actions: each verb searched all phrases for its subject. */
  actions: repeated('dogs run, '),
};
