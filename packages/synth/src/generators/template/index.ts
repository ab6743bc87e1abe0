// The template generator: offline, fast, and deterministic for a seed. Every answer is built
// from facts the tagger read in the captions (see nlp/facts.ts); phrasings come from small
// pools picked by the seeded stream.
import { samplingKey } from '../../source.js';
import type { GenerateRequest, GenerateResult, Generator } from '../types.js';
import { conversationDraft } from './conversation.js';
import { briefDraft, detailedDraft } from './describe.js';
import { reasoningDraft } from './reasoning.js';
import { vqaResult } from './vqa.js';

export class TemplateGenerator implements Generator {
  readonly name = 'template' as const;

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    return this.generateSync(request);
  }

  /** The same as generate(), without a promise (the bench and hot loops use it). */
  generateSync({ item, facts, kind, index, seed, rng }: GenerateRequest): GenerateResult {
    // Keyed like every other kind's stream (the media's sha256), not by the item id: ids derive
    // from the corpus id, so the same pictures in another corpus got other questions.
    if (kind === 'vqa') return vqaResult(facts, samplingKey(item), seed, index);
    const modality = item.modality;
    const draft =
      kind === 'brief'
        ? briefDraft(facts, modality, index, rng)
        : kind === 'detailed'
          ? detailedDraft(facts, modality, index, rng)
          : kind === 'conversation'
            ? conversationDraft(facts, modality, index, rng)
            : reasoningDraft(facts, modality, index, rng);
    if (!draft) {
      return {
        ok: false,
        reason: 'nothing_to_ask',
        detail: `the captions name nothing a ${kind} question can be asked about`,
      };
    }
    return { ok: true, draft };
  }
}
