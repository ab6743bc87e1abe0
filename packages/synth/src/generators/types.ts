// The one interface both generators implement: given an item (with the facts read from its
// captions), a kind and a seeded random stream, make a draft sample or say why not.

import type { GeneratorName, OutcomeReason, SampleKind } from '@mmit/contracts';
import type { Draft } from '../draft.js';
import type { SceneFacts } from '../nlp/facts.js';
import type { Rng } from '../random.js';
import type { SourceItem } from '../source.js';

export interface GenerateRequest {
  item: SourceItem;
  facts: SceneFacts;
  kind: SampleKind;
  /** Which sample of this kind for the item (0-based). */
  index: number;
  /** The recipe's seed, for choices shared by all samples of one item (vqa's question order). */
  seed: number;
  /** Seeded by (seed, item, kind, index): choices for this sample alone. */
  rng: Rng;
}

export type GenerateResult =
  | { ok: true; draft: Draft }
  | { ok: false; reason: OutcomeReason; detail: string };

export interface Generator {
  readonly name: GeneratorName;
  generate(request: GenerateRequest, signal?: AbortSignal): Promise<GenerateResult>;
}
