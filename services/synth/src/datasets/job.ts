// The dataset job. It reads the corpus's accepted items (the part list is fixed at the first
// attempt, so a resumed job sees the same items), and works through them in chunks: each chunk's
// samples and outcomes become a numbered part, then the manifest is republished with the part
// listed and the resume point (`itemsDone`), the counts and the filter statistics moved on.
// Killed mid-chunk, a job loses only that chunk's unpublished work, which the next attempt redoes
// (deterministically; LLM replies come back from the cache). On resume the filters' memory is
// rebuilt from the stored samples so duplicates are still caught across the restart.

import { CorpusId, DatasetId } from '@mmit/contracts';
import type { JobContext } from '@mmit/service-kit';
import { JobCancelled, JobInterrupted } from '@mmit/service-kit';
import type { Bucket } from '@mmit/storage';
import {
  BucketReplyCache,
  type DatasetManifest,
  DiversityAccumulator,
  type Generator,
  LlmGenerator,
  type Recipe,
  RecipeSchema,
  Synthesizer,
  TemplateGenerator,
} from '@mmit/synth';
import { z } from 'zod';
import { readCorpusManifest, readSourceItems } from '../corpus.js';
import { addBatch, warningsOf } from './counts.js';
import type { DatasetStore } from './store.js';

export const DATASET_JOB = 'create-dataset';

export const DatasetJobParamsSchema = z.object({
  datasetId: DatasetId,
  corpusId: CorpusId,
  recipe: RecipeSchema,
});
export type DatasetJobParams = z.infer<typeof DatasetJobParamsSchema>;

export interface DatasetJobSettings {
  bucket: Bucket;
  store: DatasetStore;
  partItems: number;
  llm?: { baseUrl: string; model: string; apiKey?: string };
}

export interface DatasetJobResult {
  datasetId: string;
  items: number;
  samples: number;
  warnings: string[];
}

export class LlmNotConfiguredError extends Error {
  readonly problemCode = 'validation';
  constructor() {
    super(
      'recipe.generator is "llm" but the service has no MMIT_SYNTH_LLM_BASE_URL; set it or use generator "template"',
    );
    this.name = 'LlmNotConfiguredError';
  }
}

function generatorFor(recipe: Recipe, manifest: DatasetManifest, settings: DatasetJobSettings): Generator {
  if (recipe.generator === 'template') return new TemplateGenerator();
  if (!settings.llm) throw new LlmNotConfiguredError();
  return new LlmGenerator({
    endpoint: settings.llm,
    options: recipe.llm,
    cache: new BucketReplyCache(settings.bucket),
    usage: manifest.llm,
  });
}

export function datasetJob(settings: DatasetJobSettings) {
  const { bucket, store } = settings;

  async function run(ctx: JobContext<DatasetJobParams>): Promise<DatasetJobResult> {
    const { datasetId, corpusId, recipe } = ctx.params;
    let manifest = await store.manifest(datasetId);
    const publish = async (next: DatasetManifest) => {
      manifest = { ...next, updatedAt: new Date().toISOString(), version: manifest.version + 1 };
      await store.publish(manifest);
    };
    try {
      if (manifest.status === 'ready') return resultOf(manifest);
      if (manifest.corpusParts.length === 0 && manifest.totalItems === null) {
        const corpus = await readCorpusManifest(bucket, corpusId);
        await publish({ ...manifest, jobId: ctx.id, corpusParts: corpus.parts.map((p) => p.part) });
      }
      const items = await readSourceItems(bucket, corpusId, manifest.corpusParts, recipe.maxItems);
      if (manifest.totalItems !== items.length)
        await publish({ ...manifest, jobId: ctx.id, totalItems: items.length });
      ctx.progress.setTotal(items.length);
      ctx.progress.set(
        manifest.itemsDone,
        manifest.counts.outcomes.failed + manifest.counts.outcomes.skipped,
      );

      const generator = generatorFor(recipe, manifest, settings);
      const synth = new Synthesizer({ recipe, generator });
      synth.filters.loadStats(manifest.filters);
      const groups = new Map(items.map((i) => [i.id, i.mediaGroup]));
      if (manifest.parts.length) {
        ctx.progress.note('restoring filter memory from stored samples');
        for (const part of manifest.parts)
          synth.remember(await store.readSamples(datasetId, part.n), (id) => groups.get(id) ?? id);
      }
      ctx.progress.note(undefined);

      for (let from = manifest.itemsDone; from < items.length; from += settings.partItems) {
        ctx.signal.throwIfAborted();
        const chunk = items.slice(from, from + settings.partItems);
        const batch = await synth.processBatch(chunk, ctx.signal);
        const n = manifest.parts.length;
        await store.writePart(datasetId, n, batch.samples, batch.outcomes);
        await publish({
          ...manifest,
          itemsDone: from + chunk.length,
          parts: [
            ...manifest.parts,
            { n, samples: batch.samples.length, itemsFrom: from, itemsTo: from + chunk.length },
          ],
          counts: addBatch(manifest.counts, batch),
          filters: synth.stats(),
          llm: generator instanceof LlmGenerator ? generator.usage() : manifest.llm,
        });
        const failed = batch.outcomes.filter((o) => o.status === 'failed' || o.status === 'skipped').length;
        ctx.progress.advance(chunk.length, failed);
      }

      ctx.progress.note('computing the diversity report');
      const diversity = new DiversityAccumulator();
      for await (const s of store.samples(manifest)) diversity.add(s);
      await publish({
        ...manifest,
        status: 'ready',
        diversity: diversity.report(),
        warnings: warningsOf(manifest),
      });
      return resultOf(manifest);
    } catch (err) {
      const reason = ctx.signal.reason;
      const stopping =
        ctx.signal.aborted && (reason instanceof JobInterrupted || reason instanceof JobCancelled);
      if (!stopping || reason instanceof JobCancelled) {
        const why =
          reason instanceof JobCancelled
            ? 'the job was cancelled'
            : `the job failed: ${(err as Error).message}`;
        await publish({ ...manifest, status: 'failed', warnings: [...warningsOf(manifest), why] }).catch(
          (e) => ctx.logger.error({ err: e }, 'could not mark the dataset failed'),
        );
      }
      throw err;
    }
  }

  return { params: DatasetJobParamsSchema, run };
}

function resultOf(manifest: DatasetManifest): DatasetJobResult {
  return {
    datasetId: manifest.id,
    items: manifest.counts.items,
    samples: manifest.counts.samples,
    warnings: manifest.warnings,
  };
}
