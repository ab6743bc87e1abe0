// What one item may carry: how many captions, how long each, how deeply its metadata nests.
// Checked before anything else is done with an item (no decoding, no storing), for uploads and
// imports alike, so an oversized caption is one clear per-item rejection naming the limit and the
// setting that raises it, never a cut caption nor a 500 KB caption waiting to stall synthesis.
import { jsonDepth, type RejectionCode } from '@mmit/contracts';

export interface ItemLimits {
  /** MMIT_INGEST_MAX_CAPTION_CHARS */
  maxCaptionChars: number;
  /** MMIT_INGEST_MAX_CAPTIONS_PER_ITEM */
  maxCaptionsPerItem: number;
  /** MMIT_JSON_MAX_DEPTH */
  maxMetaDepth: number;
}

export interface LimitRefusal {
  type: RejectionCode;
  detail: string;
}

export function itemLimitRefusal(
  item: { source: string; captions: string[]; meta?: Record<string, unknown> },
  limits: ItemLimits,
): LimitRefusal | undefined {
  const { source, captions } = item;
  if (captions.length > limits.maxCaptionsPerItem) {
    return {
      type: 'payload_too_large',
      detail: `${source} has ${captions.length} captions; the limit is ${limits.maxCaptionsPerItem} (MMIT_INGEST_MAX_CAPTIONS_PER_ITEM)`,
    };
  }
  const at = captions.findIndex((c) => c.length > limits.maxCaptionChars);
  if (at >= 0) {
    return {
      type: 'payload_too_large',
      detail: `caption ${at + 1} of ${source} has ${captions[at].length} characters; the limit is ${limits.maxCaptionChars} (MMIT_INGEST_MAX_CAPTION_CHARS)`,
    };
  }
  if (item.meta && jsonDepth(item.meta, limits.maxMetaDepth) > limits.maxMetaDepth) {
    return {
      type: 'invalid_record',
      detail: `the metadata of ${source} nests deeper than ${limits.maxMetaDepth} levels (MMIT_JSON_MAX_DEPTH)`,
    };
  }
  return undefined;
}
