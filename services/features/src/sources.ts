// The media a job covers: the accepted items of a corpus (or the media a dataset's samples name),
// reduced to unique media objects of the encoder's modality. Items share media when their bytes
// are equal (ingest's duplicates), so the unit of work and of the cache is the media sha256.
// Image items are read from their normalized copy; audio items from the 16 kHz mono copy.
// Datasets: until contracts defines dataset samples, a sample names its media as `media` (one
// ref or a list) with `sha256`, `key`, `modality` and, for audio, `normalizedKey`.
import {
  CorpusManifestSchema,
  type ItemRecord,
  ItemRecordSchema,
  keys,
  type Modality,
} from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import { z } from 'zod';

export interface MediaTask {
  sha256: string;
  /** The object the encoder reads (normalized image, or 16 kHz WAV). */
  key: string;
  modality: Modality;
  /** One item that uses this media, for error reports. */
  itemId?: string;
}

export class SourceNotFoundError extends Error {
  readonly problemCode = 'not_found';
  override name = 'SourceNotFoundError';
}

export interface SourceSummary {
  tasks: MediaTask[];
  /** Items (or sample refs) seen, of any modality or status. */
  items: number;
  /** Items skipped: rejected, no media, or another modality than the encoder's. */
  skipped: number;
}

function taskOfItem(item: ItemRecord): MediaTask | undefined {
  if (item.status === 'rejected' || !item.media) return undefined;
  if (item.modality === 'audio') {
    if (!item.audio) return undefined;
    return { sha256: item.media.sha256, key: item.audio.normalizedKey, modality: 'audio', itemId: item.id };
  }
  return { sha256: item.media.sha256, key: item.media.key, modality: 'image', itemId: item.id };
}

function unique(tasks: (MediaTask | undefined)[], modality: Modality, items: number): SourceSummary {
  const bySha = new Map<string, MediaTask>();
  for (const task of tasks)
    if (task && task.modality === modality && !bySha.has(task.sha256)) bySha.set(task.sha256, task);
  // Sorted by sha256: replicas given the same corpus see the same order, and batches are stable across resumes.
  const sorted = [...bySha.values()].sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1));
  const usable = tasks.filter((t) => t && t.modality === modality).length;
  return { tasks: sorted, items, skipped: items - usable };
}

async function lines(bucket: Bucket, key: string): Promise<unknown[]> {
  const text = (await bucket.getBuffer(key)).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as unknown);
}

export async function corpusMedia(
  bucket: Bucket,
  corpusId: string,
  modality: Modality,
): Promise<SourceSummary> {
  const manifest = await bucket.getJsonIfExists(keys.corpusManifest(corpusId), CorpusManifestSchema);
  if (!manifest)
    throw new SourceNotFoundError(`corpus ${corpusId} does not exist (GET /v1/corpora lists them)`);
  const tasks: (MediaTask | undefined)[] = [];
  for (const { part } of manifest.parts) {
    for (const line of await lines(bucket, keys.corpusItems(corpusId, part))) {
      tasks.push(taskOfItem(ItemRecordSchema.parse(line)));
    }
  }
  return unique(tasks, modality, tasks.length);
}

const DatasetMediaRefSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  key: z.string(),
  modality: z.enum(['image', 'audio']),
  normalizedKey: z.string().optional(),
  itemId: z.string().optional(),
});
const DatasetSampleMediaSchema = z.object({
  media: z.union([DatasetMediaRefSchema, z.array(DatasetMediaRefSchema)]).optional(),
});

export async function datasetMedia(
  bucket: Bucket,
  datasetId: string,
  modality: Modality,
): Promise<SourceSummary> {
  if (!(await bucket.exists(keys.datasetManifest(datasetId)))) {
    throw new SourceNotFoundError(`dataset ${datasetId} does not exist`);
  }
  const prefix = keys.datasetManifest(datasetId).replace(/manifest\.json$/, 'samples-');
  const tasks: (MediaTask | undefined)[] = [];
  for await (const obj of bucket.list(prefix)) {
    for (const line of await lines(bucket, obj.key)) {
      const refs = [DatasetSampleMediaSchema.parse(line).media ?? []].flat();
      for (const ref of refs) {
        const key = ref.modality === 'audio' ? ref.normalizedKey : ref.key;
        tasks.push(key ? { sha256: ref.sha256, key, modality: ref.modality, itemId: ref.itemId } : undefined);
      }
    }
  }
  return unique(tasks, modality, tasks.length);
}
