// A sample before it becomes a record: question-answer turns that filters can drop one by one.
// toSample() turns what is left into a LLaVA record, placing the `<image>`/`<audio>` token in
// the first remaining human turn (before or after the text, as LLaVA's data does; always before
// for vqa, as in LLaVA-1.5's short-answer data).

import type { GeneratorName, Sample, SampleKind, Split } from '@mmit/contracts';
import type { Rng } from './random.js';
import type { SourceItem } from './source.js';

export interface DraftTurn {
  question: string;
  answer: string;
  /**
   * True when the question came from a fixed pool (brief/detailed) or a fixed template (vqa): it
   * repeats by design, so the similar-instruction filter leaves it alone.
   */
  pooled: boolean;
}

export interface Draft {
  kind: SampleKind;
  /** Which sample of this kind for the item (0-based), part of the sample id. */
  index: number;
  turns: DraftTurn[];
}

export function sampleId(itemId: string, kind: SampleKind, index: number): string {
  return `${itemId}-${kind}-${index}`;
}

export function toSample(
  draft: Draft,
  item: Pick<SourceItem, 'id' | 'source' | 'modality' | 'mediaKey' | 'mediaSha256'>,
  context: { split: Split; generator: GeneratorName; rng: Rng },
): Sample {
  const token = item.modality === 'image' ? '<image>' : '<audio>';
  const conversations = draft.turns.flatMap((turn, i) => {
    let question = turn.question;
    if (i === 0) {
      const tokenFirst = draft.kind === 'vqa' || context.rng.chance(0.5);
      question = tokenFirst ? `${token}\n${question}` : `${question}\n${token}`;
    }
    return [
      { from: 'human' as const, value: question },
      { from: 'gpt' as const, value: turn.answer },
    ];
  });
  const media = item.mediaKey ?? item.source;
  return {
    id: sampleId(item.id, draft.kind, draft.index),
    ...(item.modality === 'image' ? { image: media } : { audio: media }),
    conversations,
    kind: draft.kind,
    itemId: item.id,
    modality: item.modality,
    split: context.split,
    generator: context.generator,
    ...(item.mediaSha256 ? { mediaSha256: item.mediaSha256 } : {}),
  };
}

/** The plain text of a sample's turns, without the media token (what dedup and stats read). */
export function stripMediaToken(text: string): string {
  return text.replace(/\n?<(image|audio)>\n?/g, '').trim();
}
