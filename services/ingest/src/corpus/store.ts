// Corpora in the bucket: `corpora/<id>/manifest.json` plus item records in part files
// (`corpora/<id>/items/<part>.jsonl`). Readers list items only from parts the manifest names, so
// they never see half a batch. Writing goes through publish.ts (any replica, compare-and-swap on the
// manifest); this file creates corpora and reads them.
import {
  type CorpusManifest,
  CorpusManifestSchema,
  type CreateCorpusRequest,
  emptyCorpusCounts,
  type ItemRecord,
  ItemRecordSchema,
  type ItemStatus,
  keys,
  newId,
  type Page,
} from '@mmit/contracts';
import { type Bucket, ObjectNotFoundError } from '@mmit/storage';

export class CorpusNotFoundError extends Error {
  readonly problemCode = 'not_found';
  constructor(readonly corpusId: string) {
    super(`corpus ${corpusId} does not exist (GET /v1/corpora lists the corpora)`);
    this.name = 'CorpusNotFoundError';
  }
}

export class InvalidCursorError extends Error {
  readonly problemCode = 'validation';
  constructor(readonly cursor: string) {
    super(`cursor ${JSON.stringify(cursor)} is not one this service returned; start again without a cursor`);
    this.name = 'InvalidCursorError';
  }
}

function parseRecords(text: string): ItemRecord[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => ItemRecordSchema.parse(JSON.parse(line)));
}

export class CorpusStore {
  constructor(private readonly bucket: Bucket) {}

  async create(request: CreateCorpusRequest): Promise<CorpusManifest> {
    const now = new Date().toISOString();
    const manifest: CorpusManifest = {
      id: newId('corpus'),
      name: request.name,
      description: request.description,
      createdAt: now,
      updatedAt: now,
      options: request.options,
      counts: emptyCorpusCounts(),
      parts: [],
      version: 0,
    };
    await this.bucket.putJsonIfAbsent(keys.corpusManifest(manifest.id), manifest, CorpusManifestSchema);
    return manifest;
  }

  /** The published manifest (what readers see), or CorpusNotFoundError. */
  async manifest(corpusId: string): Promise<CorpusManifest> {
    const manifest = await this.bucket.getJsonIfExists(keys.corpusManifest(corpusId), CorpusManifestSchema);
    if (!manifest) throw new CorpusNotFoundError(corpusId);
    return manifest;
  }

  /** Corpora in creation order (ids sort by time); the cursor is the last id returned. */
  async list(cursor: string | undefined, limit: number): Promise<Page<CorpusManifest>> {
    const prefixes = await this.bucket.listPrefixes(keys.corporaPrefix());
    const ids = prefixes
      .map((p) => p.slice(keys.corporaPrefix().length).replace(/\/$/, ''))
      .filter((id) => cursor === undefined || id > cursor)
      .sort();
    const items: CorpusManifest[] = [];
    for (const id of ids.slice(0, limit)) {
      const manifest = await this.bucket.getJsonIfExists(keys.corpusManifest(id), CorpusManifestSchema);
      if (manifest) items.push(manifest);
    }
    return { items, nextCursor: ids.length > limit ? ids[limit - 1] : null };
  }

  /**
   * Item records in publish order. The cursor names a position (`<part index>.<line>`) in the
   * manifest's part list, which only ever grows, so pages stay stable while items are added.
   */
  async listItems(
    corpusId: string,
    query: { cursor?: string; limit: number; status?: ItemStatus },
  ): Promise<Page<ItemRecord>> {
    const manifest = await this.manifest(corpusId);
    let [partIndex, line] = [0, 0];
    if (query.cursor !== undefined) {
      const match = /^(\d+)\.(\d+)$/.exec(query.cursor);
      if (!match || Number(match[1]) > manifest.parts.length) throw new InvalidCursorError(query.cursor);
      [partIndex, line] = [Number(match[1]), Number(match[2])];
    }
    const items: ItemRecord[] = [];
    for (; partIndex < manifest.parts.length; partIndex++, line = 0) {
      const records = await this.readPart(corpusId, manifest.parts[partIndex].part);
      for (; line < records.length; line++) {
        if (query.status && records[line].status !== query.status) continue;
        if (items.length === query.limit) return { items, nextCursor: `${partIndex}.${line}` };
        items.push(records[line]);
      }
    }
    return { items, nextCursor: null };
  }

  async readPart(corpusId: string, part: string): Promise<ItemRecord[]> {
    try {
      return parseRecords((await this.bucket.getBuffer(keys.corpusItems(corpusId, part))).toString('utf8'));
    } catch (err) {
      // A listed part that is gone means the bucket was edited by hand; say which one.
      if (err instanceof ObjectNotFoundError)
        throw new Error(`corpus ${corpusId}: item part ${part} is missing`);
      throw err;
    }
  }
}
