// Which samples an item gets, and which split it belongs to. Both are fixed by (seed, item id),
// so they do not depend on corpus order or on where a resumed job restarted, and all samples of
// one item land in the same split (no image is seen in training and validation both).
import { unitHash } from './random.js';
import { type Recipe, SAMPLE_KINDS, type SampleKind, type Split } from './schemas.js';

export interface PlannedSample {
  kind: SampleKind;
  index: number;
}

export function planItem(recipe: Recipe, itemId: string): PlannedSample[] {
  const out: PlannedSample[] = [];
  for (const kind of SAMPLE_KINDS) {
    const plan = recipe.kinds[kind];
    if (!plan) continue;
    if (plan.ratio < 1 && unitHash(recipe.seed, 'kind', kind, itemId) >= plan.ratio) continue;
    for (let index = 0; index < plan.perItem; index++) out.push({ kind, index });
  }
  return out;
}

export function splitOf(recipe: Recipe, itemId: string): Split {
  return unitHash(recipe.seed, 'split', itemId) < recipe.split.validation ? 'validation' : 'train';
}
