// Which samples an item gets, and which split it belongs to. Both are fixed by (seed, the item's
// sampling key: its media's sha256, see source.ts), so they do not depend on corpus order, on
// item ids or on where a resumed job restarted, and all samples of one item land in the same split
// (no image is seen in training and validation both).

import { type Recipe, SAMPLE_KINDS, type SampleKind, type Split } from '@mmit/contracts';
import type { SceneFacts } from './nlp/facts.js';
import { unitHash } from './random.js';
import { vqaQuestionsOf } from './vqa.js';

export interface PlannedSample {
  kind: SampleKind;
  index: number;
}

/**
 * The samples an item gets. `distinct` says how many different samples of a kind the item's facts
 * allow: indices past it are not planned (vqa asks "as many distinct questions as asked for,
 * fewer if fewer exist"), except index 0, so an item with nothing to ask still reports why.
 */
export function planItem(
  recipe: Recipe,
  samplingKey: string,
  distinct: (kind: SampleKind) => number = () => Number.POSITIVE_INFINITY,
): PlannedSample[] {
  const out: PlannedSample[] = [];
  for (const kind of SAMPLE_KINDS) {
    const plan = recipe.kinds[kind];
    if (!plan) continue;
    if (plan.ratio < 1 && unitHash(recipe.seed, 'kind', kind, samplingKey) >= plan.ratio) continue;
    const count = Math.min(plan.perItem, Math.max(1, distinct(kind)));
    for (let index = 0; index < count; index++) out.push({ kind, index });
  }
  return out;
}

/** How many distinct samples of a kind the facts allow: vqa asks each question once; other kinds rephrase freely. */
export function distinctSamples(kind: SampleKind, facts: SceneFacts): number {
  return kind === 'vqa' ? vqaQuestionsOf(facts).length : Number.POSITIVE_INFINITY;
}

export function splitOf(recipe: Recipe, samplingKey: string): Split {
  return unitHash(recipe.seed, 'split', samplingKey) < recipe.split.validation ? 'validation' : 'train';
}
