// The media a job covers: the accepted items of a corpus (or the media a dataset's samples name),
// reduced to unique media objects of the encoder's modality. Items share media when their bytes
// are equal (ingest's duplicates), so the unit of work and of the cache is the media sha256.
// Image items are read from their normalized copy; audio items from the 16 kHz mono copy.
import {
  CorpusManifestSchema,
  DatasetManifestSchema,
  type ItemRecord,
  ItemRecordSchema,
  keys,
  type Modality,
  SampleSchema,
} from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';

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
  constructor(
    message: string,
    readonly problemField?: 'body.corpusId' | 'body.datasetId',
  ) {
    super(message);
  }
}

/** 404 (naming the field) unless the job's corpus or dataset exists; checked when a job is submitted. */
export async function checkSourceExists(
  bucket: Bucket,
  source: { corpusId?: string; datasetId?: string },
): Promise<void> {
  if (source.corpusId !== undefined && !(await bucket.exists(keys.corpusManifest(source.corpusId)))) {
    throw new SourceNotFoundError(
      `corpus ${source.corpusId} does not exist (GET /v1/corpora lists them)`,
      'body.corpusId',
    );
  }
  if (source.datasetId !== undefined && !(await bucket.exists(keys.datasetManifest(source.datasetId)))) {
    throw new SourceNotFoundError(
      `dataset ${source.datasetId} does not exist (GET /v1/datasets lists them)`,
      'body.datasetId',
    );
  }
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

async function corpusItems(bucket: Bucket, corpusId: string): Promise<ItemRecord[]> {
  const manifest = await bucket.getJsonIfExists(keys.corpusManifest(corpusId), CorpusManifestSchema);
  if (!manifest)
    throw new SourceNotFoundError(
      `corpus ${corpusId} does not exist (GET /v1/corpora lists them)`,
      'body.corpusId',
    );
  const items: ItemRecord[] = [];
  for (const { part } of manifest.parts) {
    for (const line of await lines(bucket, keys.corpusItems(corpusId, part))) {
      items.push(ItemRecordSchema.parse(line));
    }
  }
  return items;
}

export async function corpusMedia(
  bucket: Bucket,
  corpusId: string,
  modality: Modality,
): Promise<SourceSummary> {
  const tasks = (await corpusItems(bucket, corpusId)).map(taskOfItem);
  return unique(tasks, modality, tasks.length);
}

// A dataset names its corpus in its manifest and its items in each sample; the media are the
// corpus items that some sample uses (so the cache serves the trainer exactly what it will read).
// Only those two fields are read (and checked) of the contracts' manifest and sample.
const DatasetSourceSchema = DatasetManifestSchema.pick({ corpusId: true });
const DatasetSampleItemSchema = SampleSchema.pick({ itemId: true });

export async function datasetMedia(
  bucket: Bucket,
  datasetId: string,
  modality: Modality,
): Promise<SourceSummary> {
  const dataset = await bucket.getJsonIfExists(keys.datasetManifest(datasetId), DatasetSourceSchema);
  if (!dataset) throw new SourceNotFoundError(`dataset ${datasetId} does not exist`, 'body.datasetId');
  const used = new Set<string>();
  const prefix = keys.datasetManifest(datasetId).replace(/manifest\.json$/, 'samples-');
  for await (const obj of bucket.list(prefix)) {
    for (const line of await lines(bucket, obj.key)) used.add(DatasetSampleItemSchema.parse(line).itemId);
  }
  const corpus = await corpusItems(bucket, dataset.corpusId);
  const tasks = corpus.filter((item) => used.has(item.id)).map(taskOfItem);
  return unique(tasks, modality, tasks.length);
}
