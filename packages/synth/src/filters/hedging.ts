// Answers that hedge, refuse, or talk about the source text instead of the media. A model tuned
// on them learns to dodge; LLaVA's prompts ask the writer model to avoid exactly these.
const PATTERNS: RegExp[] = [
  /\b(cannot|can ?not|can't|could not|couldn't) be (determined|seen|known|told|inferred|identified)\b/,
  /\b(not|im)possible to (determine|tell|say|know|see|identify)\b/,
  /\b(is|are|isn't|aren't) not (clearly )?(visible|audible|shown|mentioned|specified|provided|described)\b/,
  /\bnot (clearly )?(visible|audible)\b/,
  /\b(cannot|can't|can not) (see|hear|tell|determine|identify|say)\b/,
  /\b(it is|it's) (unclear|not clear|uncertain|unknown)\b/,
  /\b(unclear|uncertain) (from|whether|if)\b/,
  /\bno (information|details?|indication) (about|on|regarding|is given|is provided)\b/,
  /\b(i'm|i am) (not sure|unsure|unable)\b/,
  /\b(hard|difficult) to (say|tell|determine|know)\b/,
  /\bthere is no way to\b/,
  /\bas an ai\b/,
  /\b(based on|according to|from) the (given )?(captions?|descriptions?|text|annotations?)\b/,
  /\bthe (captions?|descriptions?) (do|does|did) not\b/,
];

/** The first hedging phrase in a text, or undefined. */
export function hedgingPhrase(text: string): string | undefined {
  const lower = text.toLowerCase().replace(/’/g, "'");
  for (const p of PATTERNS) {
    const m = p.exec(lower);
    if (m) return m[0];
  }
  return undefined;
}
