// Reads a corpus the ingest service published: its manifest and the item records of the parts it
// lists. Only accepted items become synthesis input (duplicates and rejected uploads have no
// media of their own); their order is the corpus's publish order, which never changes, so a
// position in it names one item for good and a range of positions can be read from the parts
// that hold it alone.
import {
  type CorpusManifest,
  CorpusManifestSchema,
  type ItemRecord,
  ItemRecordSchema,
  keys,
} from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import { type SourceItem, sourceItemFromRecord } from '@mmit/synth';

export class CorpusNotFoundError extends Error {
  readonly problemCode = 'not_found';
  constructor(readonly corpusId: string) {
    super(`corpus ${corpusId} does not exist (GET /v1/corpora on the ingest service lists the corpora)`);
    this.name = 'CorpusNotFoundError';
  }
}

export async function readCorpusManifest(bucket: Bucket, corpusId: string): Promise<CorpusManifest> {
  const manifest = await bucket.getJsonIfExists(keys.corpusManifest(corpusId), CorpusManifestSchema);
  if (!manifest) throw new CorpusNotFoundError(corpusId);
  return manifest;
}

/** Where one corpus part's accepted items fall in the dataset's item order. */
export interface PartSpan {
  part: string;
  /** Dataset position of the part's first accepted item. */
  firstIndex: number;
  /** Accepted items of the part that the dataset takes (fewer than the part has past `maxItems`). */
  items: number;
}

async function acceptedRecords(bucket: Bucket, corpusId: string, part: string): Promise<ItemRecord[]> {
  const text = (await bucket.getBuffer(keys.corpusItems(corpusId, part))).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => ItemRecordSchema.parse(JSON.parse(line)))
    .filter((record) => record.status === 'accepted');
}

/** The spans of the given parts' accepted items, at most `limit` items in all, and their total. */
export async function corpusLayout(
  bucket: Bucket,
  corpusId: string,
  parts: string[],
  limit = Number.POSITIVE_INFINITY,
): Promise<{ spans: PartSpan[]; total: number }> {
  const spans: PartSpan[] = [];
  let total = 0;
  for (const part of parts) {
    if (total >= limit) break;
    const items = Math.min((await acceptedRecords(bucket, corpusId, part)).length, limit - total);
    spans.push({ part, firstIndex: total, items });
    total += items;
  }
  return { spans, total };
}

/**
 * The items at dataset positions [from, to), numbered in order, read from the parts that hold
 * them (`spans` as corpusLayout gave them, or just those overlapping the range).
 */
export async function readItemRange(
  bucket: Bucket,
  corpusId: string,
  spans: Pick<PartSpan, 'part' | 'firstIndex'>[],
  from: number,
  to: number,
): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for (const { part, firstIndex } of spans) {
    if (firstIndex >= to) break;
    const records = await acceptedRecords(bucket, corpusId, part);
    for (let k = Math.max(0, from - firstIndex); k < records.length && firstIndex + k < to; k++) {
      out.push(sourceItemFromRecord(records[k], firstIndex + k));
    }
  }
  return out;
}
