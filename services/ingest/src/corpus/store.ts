// Corpora in the bucket: `corpora/<id>/manifest.json` plus item records in part files
// (`corpora/<id>/items/<part>.jsonl`). New records collect in memory and are written as a new
// part, then the manifest (with the part listed and the counts folded in) is published
// atomically; readers list items only from parts the manifest names, so they never see half a
// batch. If a write fails the batch stays sealed and the next flush writes it again under the
// same part name, so nothing accepted in memory is lost or counted twice.
//
// Limit: one process owns a corpus's writes (manifest updates are serialized in memory; S3 here
// offers no conditional puts to serialize replicas).
import { randomBytes } from 'node:crypto';
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
import { addToCounts } from './counts.js';
import { CorpusIndex } from './index.js';

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

/** Records per part file when a caller flushes only when enough have collected. */
export const PART_SIZE = 500;

function newPartName(): string {
  return `p-${Date.now().toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`;
}

function parseRecords(text: string): ItemRecord[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => ItemRecordSchema.parse(JSON.parse(line)));
}

/** A corpus opened for writing: its published manifest, its index, and the records not yet published. */
export class OpenCorpus {
  readonly index = new CorpusIndex();
  private pending: ItemRecord[] = [];
  private sealed: { part: string; records: ItemRecord[] } | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** Items being ingested right now, by the sha256 of their bytes (a twin waits for the first). */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly bucket: Bucket,
    public manifest: CorpusManifest,
  ) {}

  get id(): string {
    return this.manifest.id;
  }

  get unpublished(): number {
    return this.pending.length + (this.sealed?.records.length ?? 0);
  }

  /** Adds a record; it is visible to the index at once and in the bucket after the next flush. */
  record(record: ItemRecord): void {
    this.index.add(record);
    this.pending.push(record);
  }

  /** Runs `work` once no other item with the same bytes is in flight, so twins dedupe correctly. */
  async oneAtATime<T>(sourceSha256: string, work: () => Promise<T>): Promise<T> {
    while (this.inFlight.has(sourceSha256)) await this.inFlight.get(sourceSha256);
    const run = work();
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.set(sourceSha256, settled);
    try {
      return await run;
    } finally {
      this.inFlight.delete(sourceSha256);
    }
  }

  /** Publishes when at least `minRecords` wait (default: whatever waits). */
  flush(minRecords = 1): Promise<void> {
    const next = this.flushing.then(() => (this.unpublished >= minRecords ? this.publish() : undefined));
    this.flushing = next.catch(() => undefined);
    return next;
  }

  private async publish(): Promise<void> {
    if (!this.sealed) {
      this.sealed = { part: newPartName(), records: this.pending };
      this.pending = [];
    }
    const { part, records } = this.sealed;
    if (records.length > 0) {
      const body = `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;
      await this.bucket.putBuffer(keys.corpusItems(this.id, part), body, {
        contentType: 'application/x-ndjson',
      });
      const next: CorpusManifest = {
        ...this.manifest,
        counts: records.reduce(addToCounts, this.manifest.counts),
        parts: [...this.manifest.parts, { part, items: records.length }],
        updatedAt: new Date().toISOString(),
        version: this.manifest.version + 1,
      };
      await this.bucket.publishJson(keys.corpusManifest(this.id), next, CorpusManifestSchema);
      this.manifest = next;
    }
    this.sealed = undefined;
  }
}

export class CorpusStore {
  private readonly open = new Map<string, Promise<OpenCorpus>>();

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
    await this.bucket.publishJson(keys.corpusManifest(manifest.id), manifest, CorpusManifestSchema);
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

  /** The writable corpus, loaded once per process: its index is rebuilt from every published part. */
  openCorpus(corpusId: string): Promise<OpenCorpus> {
    let opening = this.open.get(corpusId);
    if (!opening) {
      opening = (async () => {
        const manifest = await this.manifest(corpusId);
        const corpus = new OpenCorpus(this.bucket, manifest);
        for (const { part } of manifest.parts) {
          for (const record of await this.readPart(corpusId, part)) corpus.index.add(record);
        }
        return corpus;
      })();
      this.open.set(corpusId, opening);
      opening.catch(() => this.open.delete(corpusId));
    }
    return opening;
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

  private async readPart(corpusId: string, part: string): Promise<ItemRecord[]> {
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
