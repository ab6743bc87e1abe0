// HTTP routes of the synthesis service. POST /v1/datasets checks the corpus and the generator,
// publishes a `building` manifest and starts the job (202 + job record); the GET routes read
// manifests and published parts; export streams a whole dataset in one of three formats.
import { DatasetId, type JobRecord, JobRecordSchema, newId, PageQuerySchema, pageOf } from '@mmit/contracts';
import { HttpError, type JobRunner, type Service } from '@mmit/service-kit';
import type { Bucket } from '@mmit/storage';
import {
  CreateDatasetRequestSchema,
  type DatasetManifest,
  DatasetManifestSchema,
  EXPORT_CONTENT_TYPES,
  EXPORT_EXTENSIONS,
  ExportFormatSchema,
  emptyFilterStats,
  exportChunks,
  ItemSynthOutcomeSchema,
  SampleKindSchema,
  SampleSchema,
  SplitSchema,
} from '@mmit/synth';
import { z } from 'zod';
import { readCorpusManifest } from './corpus.js';
import { emptyCounts } from './datasets/counts.js';
import { DATASET_JOB, type DatasetJobParams, LlmNotConfiguredError } from './datasets/job.js';
import type { DatasetStore } from './datasets/store.js';

export interface RouteDeps {
  bucket: Bucket;
  store: DatasetStore;
  runner: JobRunner;
  llmConfigured: boolean;
}

const Params = z.object({ id: DatasetId });
const SamplesQuery = PageQuerySchema.extend({
  kind: SampleKindSchema.optional(),
  split: SplitSchema.optional(),
});
const OutcomesQuery = PageQuerySchema.extend({
  status: z.enum(['ok', 'partial', 'skipped', 'failed', 'filtered']).optional(),
});
const ExportQuery = z.object({ format: ExportFormatSchema.default('llava') });
const CreatedSchema = z.object({ dataset: DatasetManifestSchema, job: JobRecordSchema });
const tags = ['datasets'];

export function registerRoutes(service: Service, deps: RouteDeps): void {
  const { bucket, store, runner } = deps;
  service
    .route({
      method: 'post',
      path: '/v1/datasets',
      summary: 'Create a dataset from a corpus with a recipe; starts a background job',
      tags,
      request: { body: CreateDatasetRequestSchema },
      responses: { 202: { description: 'The dataset (building) and its job', schema: CreatedSchema } },
      handler: async ({ body }) => {
        const corpus = await readCorpusManifest(bucket, body.corpusId);
        if (body.recipe.generator === 'llm' && !deps.llmConfigured) throw new LlmNotConfiguredError();
        const now = new Date().toISOString();
        const manifest: DatasetManifest = {
          id: newId('dataset'),
          name: body.name ?? `${corpus.name} (${body.recipe.generator})`,
          corpusId: body.corpusId,
          status: 'building',
          recipe: body.recipe,
          createdAt: now,
          updatedAt: now,
          corpusParts: [],
          totalItems: null,
          itemsDone: 0,
          parts: [],
          counts: emptyCounts(),
          filters: emptyFilterStats(),
          llm: { requests: 0, tokens: 0, cacheHits: 0, failures: 0 },
          warnings: [],
          version: 0,
        };
        await store.create(manifest);
        const params: DatasetJobParams = {
          datasetId: manifest.id,
          corpusId: body.corpusId,
          recipe: body.recipe,
        };
        const job: JobRecord = await runner.submit(DATASET_JOB, params);
        return {
          status: 202,
          body: { dataset: manifest, job },
          headers: { Location: `/v1/datasets/jobs/${job.id}` },
        };
      },
    })
    .route({
      method: 'get',
      path: '/v1/datasets',
      summary: 'List datasets (creation order)',
      tags,
      request: { query: PageQuerySchema },
      responses: {
        200: { description: 'A page of dataset manifests', schema: pageOf(DatasetManifestSchema) },
      },
      handler: async ({ query }) => ({ body: await store.list(query.cursor, query.limit) }),
    })
    .route({
      method: 'get',
      path: '/v1/datasets/:id',
      summary: 'Read a dataset manifest: recipe, counts, filter and diversity statistics, split',
      tags,
      request: { params: Params },
      responses: { 200: { description: 'The manifest', schema: DatasetManifestSchema } },
      handler: async ({ params }) => ({ body: await store.manifest(params.id) }),
    })
    .route({
      method: 'get',
      path: '/v1/datasets/:id/samples',
      summary: 'Page through samples, optionally of one kind or split',
      tags,
      request: { params: Params, query: SamplesQuery },
      responses: { 200: { description: 'A page of samples', schema: pageOf(SampleSchema) } },
      handler: async ({ params, query }) => {
        const manifest = await store.manifest(params.id);
        const page = await store.page(
          manifest,
          (n) => store.readSamples(manifest.id, n),
          query,
          (s) => (!query.kind || s.kind === query.kind) && (!query.split || s.split === query.split),
        );
        return { body: page };
      },
    })
    .route({
      method: 'get',
      path: '/v1/datasets/:id/outcomes',
      summary: 'Per-item outcomes: what was made for each item and why anything was not',
      tags,
      request: { params: Params, query: OutcomesQuery },
      responses: { 200: { description: 'A page of item outcomes', schema: pageOf(ItemSynthOutcomeSchema) } },
      handler: async ({ params, query }) => {
        const manifest = await store.manifest(params.id);
        const page = await store.page(
          manifest,
          (n) => store.readOutcomes(manifest.id, n),
          query,
          (o) => !query.status || o.status === query.status,
        );
        return { body: page };
      },
    })
    .route({
      method: 'get',
      path: '/v1/datasets/:id/export',
      summary: 'Download the dataset as LLaVA JSON, ShareGPT JSONL or our JSONL (streamed)',
      tags,
      request: { params: Params, query: ExportQuery },
      responses: { 200: { description: 'The dataset file', contentType: 'application/json' } },
      handler: async ({ params, query, res }) => {
        const manifest = await store.manifest(params.id);
        if (manifest.status !== 'ready') {
          throw new HttpError(
            'conflict',
            `dataset ${manifest.id} is ${manifest.status}; export it once it is ready`,
          );
        }
        res.status(200);
        res.setHeader('content-type', EXPORT_CONTENT_TYPES[query.format]);
        res.setHeader(
          'content-disposition',
          `attachment; filename="${manifest.id}.${EXPORT_EXTENSIONS[query.format]}"`,
        );
        for await (const chunk of exportChunks(query.format, store.samples(manifest))) {
          // Respect backpressure so a large export streams instead of piling up in memory.
          if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
        }
        res.end();
        return undefined;
      },
    });
}
