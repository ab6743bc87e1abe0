// HTTP routes of the feature service: start an extraction job, follow jobs (service-kit's job
// routes), list encoder keys with their stats, and read one item's feature block. Job routes are
// mounted before `/v1/features/:encoderKey/...` so `jobs` is never taken for an encoder key.
import {
  type EncoderStats,
  EncoderStatsSchema,
  FeatureJobRequestSchema,
  keys,
  PROBLEMS,
} from '@mmit/contracts';
import {
  EncoderKeySchema,
  encodeBlock,
  FeatureIndex,
  type FeatureReader,
  readEncoderRecord,
} from '@mmit/features';
import { HttpError, type JobRunner, mountJobRoutes, type Service } from '@mmit/service-kit';
import type { Bucket } from '@mmit/storage';
import { z } from 'zod';
import { checkEncoderSpec } from './encoders/check-spec.js';
import { checkSourceExists } from './sources.js';

export const EXTRACT_JOB = 'extract';
const BASE = '/v1/features';
const tags = ['features'];

export interface RouteDeps {
  bucket: Bucket;
  runner: JobRunner;
  /** MMIT_FEATURES_MODEL_ROOTS */
  modelRoots: string[];
  readerFor(encoderKey: string): FeatureReader;
}

async function statsOf(bucket: Bucket, encoderKey: string): Promise<EncoderStats> {
  const index = new FeatureIndex(bucket, encoderKey);
  await index.refresh();
  const record = await readEncoderRecord(bucket, encoderKey);
  const shards = index.shards();
  return {
    encoderKey,
    ...(record ? { identity: record.identity, spec: record.spec } : {}),
    items: index.size,
    shards: shards.length,
    bytes: shards.reduce((n, s) => n + s.bytes, 0),
  };
}

export function registerRoutes(service: Service, deps: RouteDeps): void {
  const { bucket, runner } = deps;
  service.route({
    method: 'post',
    path: `${BASE}/jobs`,
    summary: 'Compute (or find cached) encoder features for every media item of a corpus or dataset',
    tags,
    request: { body: FeatureJobRequestSchema },
    responses: {
      202: { description: 'The queued job (follow it at /v1/features/jobs/:jobId/events)' },
      400: {
        description:
          'A bad request or encoder spec (unreadable checkpoint, layer out of range), with the field',
      },
      404: { description: 'The corpus or dataset does not exist' },
    },
    handler: async ({ body }) => {
      // Everything that would only make the job fail is refused now, naming the field.
      await checkSourceExists(bucket, body);
      await checkEncoderSpec(body.encoder, deps.modelRoots);
      return { status: 202, body: await runner.submit(EXTRACT_JOB, body) };
    },
  });
  mountJobRoutes(service, runner, { basePath: `${BASE}/jobs` });

  service
    .route({
      method: 'get',
      path: BASE,
      summary: 'Encoder keys with cached features, with item, shard and byte counts',
      tags,
      responses: {
        200: {
          description: 'Stats per encoder key',
          schema: z.object({ items: z.array(EncoderStatsSchema) }),
        },
      },
      handler: async () => {
        const prefixes = await bucket.listPrefixes('features/');
        const encoderKeys = prefixes
          .map((p) => p.slice('features/'.length).replace(/\/$/, ''))
          .filter((k) => EncoderKeySchema.safeParse(k).success);
        return { body: { items: await Promise.all(encoderKeys.map((k) => statsOf(bucket, k))) } };
      },
    })
    .route({
      method: 'get',
      path: `${BASE}/:encoderKey`,
      summary: 'One encoder key: its identity, the spec that made it, and what is cached',
      tags,
      request: { params: z.object({ encoderKey: EncoderKeySchema }) },
      responses: { 200: { description: 'Stats', schema: EncoderStatsSchema } },
      handler: async ({ params }) => {
        const stats = await statsOf(bucket, params.encoderKey);
        if (!stats.identity && stats.items === 0) {
          throw new HttpError(
            'not_found',
            `no features under encoder key ${params.encoderKey} (GET ${BASE} lists them)`,
          );
        }
        return { body: stats };
      },
    })
    .route({
      method: 'get',
      path: `${BASE}/:encoderKey/:sha256`,
      summary:
        "One media item's features as a safetensors object (`features`, and `mask` for audio), checksum verified",
      tags,
      request: {
        params: z.object({ encoderKey: EncoderKeySchema, sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
      },
      responses: {
        200: { description: 'safetensors bytes', contentType: 'application/octet-stream' },
        404: { description: PROBLEMS.not_found.title },
        409: { description: 'The cached copy fails its checksum; a features job recomputes it' },
      },
      handler: async ({ params, res }) => {
        const reader = deps.readerFor(params.encoderKey);
        const block = await reader.read(params.sha256);
        const bytes = encodeBlock(block, { encoderKey: params.encoderKey, sha256: params.sha256 });
        res.setHeader('x-mmit-feature-shape', block.features.dims.join(','));
        res.setHeader('x-mmit-feature-dtype', block.features.dtype);
        res.setHeader(
          'x-mmit-shard',
          keys.featureShard(params.encoderKey, reader.index.get(params.sha256)?.shardId ?? ''),
        );
        res.status(200).type('application/octet-stream').send(bytes);
        return undefined;
      },
    });
}
