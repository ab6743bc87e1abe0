// The view of a corpus item that synthesis needs: its captions, its modality, where its media is,
// and object boxes when the import carried them (COCO instances, normalized to 0-1).
import type { ItemRecord, Modality } from '@mmit/contracts';
import { z } from 'zod';

export interface Box {
  category: string;
  /** [x, y, width, height] as fractions of the image size, origin top left. */
  bbox: [number, number, number, number];
}

export interface SourceItem {
  /** Position of the item in the dataset's item order (the resume cursor counts these). */
  index: number;
  id: string;
  source: string;
  modality: Modality;
  captions: string[];
  /** Bucket key of the normalized media, used as the record's `image`/`audio` path. */
  mediaKey?: string;
  mediaSha256?: string;
  boxes: Box[];
  /**
   * Items showing the same media share this (the item id, or for a near-duplicate image the id of
   * the item it nearly duplicates); duplicate filters in `media` scope compare within it.
   */
  mediaGroup: string;
}

const BoxesSchema = z.array(
  z.object({
    bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]),
    category: z.string().optional(),
  }),
);

/** Reads `extra.boxes` as the COCO importer writes it; boxes without a category are of no use here. */
function boxesOf(extra: Record<string, unknown>): Box[] {
  const parsed = BoxesSchema.safeParse(extra.boxes);
  if (!parsed.success) return [];
  return parsed.data.flatMap((b) => (b.category ? [{ category: b.category, bbox: b.bbox }] : []));
}

/**
 * What an item's random choices (its split, which samples it gets, their wording) are keyed by:
 * the sha256 of its media when it has one, so importing the same files again, into a new corpus
 * with new item ids, gives the same dataset, and two items holding the same bytes land in the same
 * split; the item id otherwise.
 */
export function samplingKey(item: Pick<SourceItem, 'id' | 'mediaSha256'>): string {
  return item.mediaSha256 ?? item.id;
}

export function sourceItemFromRecord(record: ItemRecord, index: number): SourceItem {
  return {
    index,
    id: record.id,
    source: record.source,
    modality: record.modality,
    captions: record.captions.map((c) => c.trim()).filter((c) => c.length > 0),
    mediaKey: record.media?.key,
    mediaSha256: record.media?.sha256,
    boxes: boxesOf(record.extra),
    mediaGroup: record.image?.nearDuplicateOf?.itemId ?? record.id,
  };
}
