// Language identification through eld (n-gram detector, small database bundled in the package).
// Short texts are where detectors err, so a text counts as off-target only when it has a few
// words and the detector calls its verdict reliable.
import { eld } from 'eld/small';
import { wordCount } from '../nlp/analyze.js';

const MIN_WORDS = 4;
/** Instructions repeat a lot (pools, templates); remembering verdicts saves most detector calls. */
const CACHE_LIMIT = 20_000;
const verdicts = new Map<string, string | undefined>();

/** The ISO 639-1 code a text is reliably in, or undefined when it is too short or unclear. */
export function detectLanguage(text: string): string | undefined {
  if (verdicts.has(text)) return verdicts.get(text);
  let verdict: string | undefined;
  if (wordCount(text) >= MIN_WORDS) {
    const result = eld.detect(text);
    verdict = result.language && result.isReliable() ? result.language : undefined;
  }
  if (verdicts.size >= CACHE_LIMIT) verdicts.clear();
  verdicts.set(text, verdict);
  return verdict;
}

export function isOffTarget(text: string, target: string): boolean {
  const language = detectLanguage(text);
  return language !== undefined && language !== target;
}
