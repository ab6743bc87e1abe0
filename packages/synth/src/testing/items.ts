// Source items for tests, built in code (no corpus or bucket needed).
import type { Modality } from '@mmit/contracts';
import type { SourceItem } from '../source.js';

/** A valid item id for position n (ids must match the contracts' item pattern). */
export function itemId(n: number): string {
  return `i_${String(n).padStart(22, '0')}`;
}

export function item(n: number, captions: string[], modality: Modality = 'image'): SourceItem {
  return {
    index: n,
    id: itemId(n),
    source: `item-${n}`,
    modality,
    captions,
    boxes: [],
    mediaGroup: itemId(n),
  };
}

export const SHAPE_CAPTIONS = [
  [
    'A red star at the top right, an orange circle at the bottom center and a red star at the top left on a light grey background.',
    'Three shapes: two red stars and an orange circle.',
  ],
  ['A blue square at the top left and a yellow triangle at the bottom right on a beige background.'],
  ['A man is riding a brown horse on the beach.', 'A rider on a horse near the sea.'],
  ['Two green circles in the center on a white background.'],
];

export const SOUND_CAPTIONS = [
  ['A low beep, then a high beep, then a low beep.', 'Three short tones in silence.'],
  ['A dog barks twice while cars pass by.'],
];

export function sampleItems(): SourceItem[] {
  return [
    ...SHAPE_CAPTIONS.map((c, i) => item(i, c, 'image')),
    ...SOUND_CAPTIONS.map((c, i) => item(SHAPE_CAPTIONS.length + i, c, 'audio')),
  ];
}
