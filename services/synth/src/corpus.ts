// Reads a corpus the ingest service published: its manifest and the item records of the parts it
// lists. Only accepted items become synthesis input (duplicates and rejected uploads have no
// media of their own); their order is the corpus's publish order, which never changes.
import { type CorpusManifest, CorpusManifestSchema, ItemRecordSchema, keys } from '@mmit/contracts';
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

/** The accepted items of the given parts, numbered in order, at most `limit` of them. */
export async function readSourceItems(
  bucket: Bucket,
  corpusId: string,
  parts: string[],
  limit = Number.POSITIVE_INFINITY,
): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for (const part of parts) {
    const text = (await bucket.getBuffer(keys.corpusItems(corpusId, part))).toString('utf8');
    for (const line of text.split('\n')) {
      if (!line) continue;
      const record = ItemRecordSchema.parse(JSON.parse(line));
      if (record.status !== 'accepted') continue;
      out.push(sourceItemFromRecord(record, out.length));
      if (out.length >= limit) return out;
    }
  }
  return out;
}
