// Datasets in the bucket: `datasets/<id>/manifest.json`, changed only by compare-and-swap (any
// replica may write it; a writer that loses a race reads it again and reapplies its change), and
// numbered parts `samples-NNNNN.jsonl` with their item outcomes beside them in
// `outcomes-NNNNN.jsonl`. While the job runs, each of its units stores what it drafted in
// `drafts/unit-NNNNN.json` (create-if-absent: the first run of a unit to finish is the one kept);
// the finish step turns them into the parts, then removes them. Readers only read parts the
// manifest lists, and the manifest lists them once they are all written. (The outcomes and
// drafts keys belong in the contracts layout.)
import { DatasetId, keys, type Page } from '@mmit/contracts';
import { type Bucket, PreconditionFailedError } from '@mmit/storage';
import {
  type DatasetManifest,
  DatasetManifestSchema,
  DraftedItemSchema,
  type ItemSynthOutcome,
  ItemSynthOutcomeSchema,
  LlmUsageSchema,
  type Sample,
  SampleSchema,
} from '@mmit/synth';
import { z } from 'zod';

export class DatasetNotFoundError extends Error {
  readonly problemCode = 'not_found';
  constructor(readonly datasetId: string) {
    super(`dataset ${datasetId} does not exist (GET /v1/datasets lists the datasets)`);
    this.name = 'DatasetNotFoundError';
  }
}

export class InvalidCursorError extends Error {
  readonly problemCode = 'validation';
  constructor(readonly cursor: string) {
    super(`cursor ${JSON.stringify(cursor)} is not one this service returned; start again without a cursor`);
    this.name = 'InvalidCursorError';
  }
}

export function datasetOutcomesKey(datasetId: string, n: number): string {
  return keys.datasetSamples(datasetId, n).replace(/samples-(\d+)\.jsonl$/, 'outcomes-$1.jsonl');
}

export function datasetDraftsPrefix(datasetId: string): string {
  return keys.datasetManifest(datasetId).replace(/manifest\.json$/, 'drafts/');
}

export function datasetDraftsKey(datasetId: string, n: number): string {
  return keys.datasetSamples(datasetId, n).replace(/samples-(\d+)\.jsonl$/, 'drafts/unit-$1.json');
}

/** What one unit of a dataset job drafted: its items [itemsFrom, itemsTo) and what the LLM cost. */
export const UnitDraftsSchema = z.object({
  n: z.number().int().nonnegative(),
  itemsFrom: z.number().int().nonnegative(),
  itemsTo: z.number().int().nonnegative(),
  llm: LlmUsageSchema,
  items: z.array(DraftedItemSchema),
});
export type UnitDrafts = z.infer<typeof UnitDraftsSchema>;

const DATASETS_PREFIX = 'datasets/';

function jsonLines<S extends z.ZodType>(text: string, schema: S): z.output<S>[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => schema.parse(JSON.parse(l)));
}

export class DatasetStore {
  constructor(private readonly bucket: Bucket) {}

  /** Stores a new dataset's first manifest. */
  async create(manifest: DatasetManifest): Promise<void> {
    await this.bucket.putJsonIfAbsent(keys.datasetManifest(manifest.id), manifest, DatasetManifestSchema);
  }

  /**
   * Changes the manifest by compare-and-swap, again on conflict: `change` gets the stored manifest
   * and returns the next one (its version and updatedAt are set here), or undefined to leave it.
   * `change` may run several times, so it must be pure. Returns the stored manifest.
   */
  async update(
    datasetId: string,
    change: (current: DatasetManifest) => DatasetManifest | undefined,
  ): Promise<DatasetManifest> {
    const at = new Date().toISOString();
    const stored = await this.bucket.updateJson(
      keys.datasetManifest(datasetId),
      DatasetManifestSchema,
      (current) => {
        if (!current) throw new DatasetNotFoundError(datasetId);
        const next = change(current);
        return next && { ...next, version: current.version + 1, updatedAt: at };
      },
    );
    if (!stored) throw new DatasetNotFoundError(datasetId);
    return stored.value;
  }

  async manifest(datasetId: string): Promise<DatasetManifest> {
    if (!DatasetId.safeParse(datasetId).success) throw new DatasetNotFoundError(datasetId);
    const manifest = await this.bucket.getJsonIfExists(
      keys.datasetManifest(datasetId),
      DatasetManifestSchema,
    );
    if (!manifest) throw new DatasetNotFoundError(datasetId);
    return manifest;
  }

  /** Datasets in creation order (ids sort by time); the cursor is the last id returned. */
  async list(cursor: string | undefined, limit: number): Promise<Page<DatasetManifest>> {
    const ids = (await this.bucket.listPrefixes(DATASETS_PREFIX))
      .map((p) => p.slice(DATASETS_PREFIX.length).replace(/\/$/, ''))
      .filter((id) => DatasetId.safeParse(id).success && (cursor === undefined || id > cursor))
      .sort();
    const items: DatasetManifest[] = [];
    for (const id of ids.slice(0, limit)) {
      const m = await this.bucket.getJsonIfExists(keys.datasetManifest(id), DatasetManifestSchema);
      if (m) items.push(m);
    }
    return { items, nextCursor: ids.length > limit ? ids[limit - 1] : null };
  }

  async writePart(
    datasetId: string,
    n: number,
    samples: Sample[],
    outcomes: ItemSynthOutcome[],
  ): Promise<void> {
    const lines = <T>(list: T[]) => list.map((x) => `${JSON.stringify(x)}\n`).join('');
    await this.bucket.putBuffer(keys.datasetSamples(datasetId, n), lines(samples), {
      contentType: 'application/x-ndjson',
    });
    await this.bucket.putBuffer(datasetOutcomesKey(datasetId, n), lines(outcomes), {
      contentType: 'application/x-ndjson',
    });
  }

  /**
   * Stores a unit's drafts unless a run of the same unit stored them first; returns the drafts
   * that are stored (the first run's) and whether this call stored them.
   */
  async storeDrafts(
    datasetId: string,
    drafts: UnitDrafts,
  ): Promise<{ drafts: UnitDrafts; created: boolean }> {
    const key = datasetDraftsKey(datasetId, drafts.n);
    try {
      await this.bucket.putJsonIfAbsent(key, drafts, UnitDraftsSchema);
      return { drafts, created: true };
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      return { drafts: await this.bucket.getJson(key, UnitDraftsSchema), created: false };
    }
  }

  async readDrafts(datasetId: string, n: number): Promise<UnitDrafts | undefined> {
    return this.bucket.getJsonIfExists(datasetDraftsKey(datasetId, n), UnitDraftsSchema);
  }

  async deleteDrafts(datasetId: string): Promise<void> {
    await this.bucket.deletePrefix(datasetDraftsPrefix(datasetId));
  }

  async readSamples(datasetId: string, n: number): Promise<Sample[]> {
    return jsonLines(
      (await this.bucket.getBuffer(keys.datasetSamples(datasetId, n))).toString('utf8'),
      SampleSchema,
    );
  }

  async readOutcomes(datasetId: string, n: number): Promise<ItemSynthOutcome[]> {
    return jsonLines(
      (await this.bucket.getBuffer(datasetOutcomesKey(datasetId, n))).toString('utf8'),
      ItemSynthOutcomeSchema,
    );
  }

  /** Every sample of the published parts, in order, one part in memory at a time. */
  async *samples(manifest: DatasetManifest): AsyncGenerator<Sample> {
    for (const part of manifest.parts) yield* await this.readSamples(manifest.id, part.n);
  }

  /**
   * A page of samples or outcomes matching `keep`. The cursor is `<part index>.<line>` of the
   * next record, stable because published parts never change.
   */
  async page<T>(
    manifest: DatasetManifest,
    read: (n: number) => Promise<T[]>,
    query: { cursor?: string; limit: number },
    keep: (record: T) => boolean,
  ): Promise<Page<T>> {
    let [partIndex, line] = [0, 0];
    if (query.cursor !== undefined) {
      const m = /^(\d+)\.(\d+)$/.exec(query.cursor);
      if (!m || Number(m[1]) > manifest.parts.length) throw new InvalidCursorError(query.cursor);
      [partIndex, line] = [Number(m[1]), Number(m[2])];
    }
    const items: T[] = [];
    for (; partIndex < manifest.parts.length; partIndex++, line = 0) {
      const records = await read(manifest.parts[partIndex].n);
      for (; line < records.length; line++) {
        if (!keep(records[line])) continue;
        if (items.length === query.limit) return { items, nextCursor: `${partIndex}.${line}` };
        items.push(records[line]);
      }
    }
    return { items, nextCursor: null };
  }
}
