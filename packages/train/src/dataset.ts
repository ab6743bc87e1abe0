// Reading a dataset the synth service wrote: `datasets/<id>/manifest.json` and its
// `samples-*.jsonl` parts (LLaVA conversation records with `split` and the media's sha256).
// Only the fields training needs are read, so newer manifest fields do not break old trainers.
// A sample names its media by `mediaSha256`, the key of the feature cache.
import { keys } from '@mmit/contracts';
import type { Bucket } from '@mmit/storage';
import { z } from 'zod';
import type { Turn } from './template.js';

export class UnknownDatasetError extends Error {
  readonly problemCode = 'validation';
  readonly problemField = 'body.datasetId';
  constructor(readonly datasetId: string) {
    super(`dataset ${datasetId} does not exist (GET /v1/datasets on the synth service lists datasets)`);
    this.name = 'UnknownDatasetError';
  }
}

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
export const DatasetSampleSchema = z
  .object({
    id: z.string(),
    conversations: z.array(z.object({ from: z.enum(['human', 'gpt']), value: z.string() })).min(2),
    split: z.enum(['train', 'validation']).default('train'),
    modality: z.enum(['image', 'audio']).optional(),
    image: z.string().optional(),
    audio: z.string().optional(),
    mediaSha256: Sha256.optional(),
  })
  .passthrough();

export interface DatasetSample {
  id: string;
  conversations: Turn[];
  split: 'train' | 'validation';
  /** null when the sample names no media (it cannot train a projector). */
  media: string | null;
  /** The media's modality: the record's `modality`, else its LLaVA `image`/`audio` field; null when neither says. */
  modality: 'image' | 'audio' | null;
}

const ManifestSchema = z.object({ id: z.string(), status: z.string().optional() }).passthrough();

export async function datasetExists(bucket: Bucket, datasetId: string): Promise<boolean> {
  return bucket.exists(keys.datasetManifest(datasetId));
}

/**
 * Every sample of the dataset, in an order fixed by content: by media sha256, then conversation
 * text, then id. The run's seeded shuffle starts from this order, so the same media and captions
 * train the same way even when a re-import gave the items new ids (ids decide the part order).
 */
export async function loadDataset(bucket: Bucket, datasetId: string): Promise<DatasetSample[]> {
  const manifest = await bucket.getJsonIfExists(keys.datasetManifest(datasetId), ManifestSchema);
  if (!manifest) throw new UnknownDatasetError(datasetId);
  const prefix = keys.datasetSamples(datasetId, 0).replace(/\d+\.jsonl$/, '');
  const samples: DatasetSample[] = [];
  for await (const obj of bucket.list(prefix)) {
    if (!obj.key.endsWith('.jsonl')) continue;
    const lines = (await bucket.getBuffer(obj.key)).toString('utf8').split('\n');
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      const parsed = DatasetSampleSchema.safeParse(JSON.parse(line));
      if (!parsed.success) {
        throw new Error(`${obj.key} line ${i + 1} is not a sample: ${z.prettifyError(parsed.error)}`);
      }
      const s = parsed.data;
      samples.push({
        id: s.id,
        conversations: s.conversations,
        split: s.split,
        media: s.mediaSha256 ?? null,
        modality: s.modality ?? (s.audio !== undefined ? 'audio' : s.image !== undefined ? 'image' : null),
      });
    });
  }
  return samples
    .map((sample) => ({
      sample,
      key: `${sample.media ?? ''}\0${JSON.stringify(sample.conversations)}\0${sample.id}`,
    }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ sample }) => sample);
}
