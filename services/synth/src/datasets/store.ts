// Datasets in the bucket: `datasets/<id>/manifest.json` (published whole, write-new-then-publish)
// and numbered parts `samples-NNNNN.jsonl` with their item outcomes beside them in
// `outcomes-NNNNN.jsonl` (that key belongs in the contracts layout). Readers only read parts the
// manifest lists, so a part being rewritten by a resumed job is never half-read.
import { DatasetId, keys, type Page } from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import {
  type DatasetManifest,
  DatasetManifestSchema,
  type ItemSynthOutcome,
  ItemSynthOutcomeSchema,
  type Sample,
  SampleSchema,
} from '@mmit/synth';
import type { z } from 'zod';

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

const DATASETS_PREFIX = 'datasets/';

function jsonLines<S extends z.ZodType>(text: string, schema: S): z.output<S>[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => schema.parse(JSON.parse(l)));
}

export class DatasetStore {
  constructor(private readonly bucket: Bucket) {}

  async publish(manifest: DatasetManifest): Promise<void> {
    await this.bucket.publishJson(keys.datasetManifest(manifest.id), manifest, DatasetManifestSchema);
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
