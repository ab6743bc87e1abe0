// HTTP payloads of the feature service. They live here until contracts takes them (see
// docs/features.md): the job request and result, and the per-encoder stats.
import { CorpusId, DatasetId } from '@mmit/contracts';
import { EncoderIdentitySchema, EncoderSpecSchema } from '@mmit/features';
import { z } from 'zod';

export const ExecutionProviderSchema = z.enum(['cpu', 'webgpu', 'cuda']);

export const FeatureJobRequestSchema = z
  .object({
    corpusId: CorpusId.optional(),
    datasetId: DatasetId.optional(),
    encoder: EncoderSpecSchema,
    /** Default: MMIT_FEATURES_EP. */
    ep: ExecutionProviderSchema.optional(),
    /** Default: MMIT_FEATURES_BATCH_SIZE. */
    batchSize: z.number().int().min(1).max(1024).optional(),
    /** Re-read cached shards and check every hit's checksum (a corrupt hit is recomputed). */
    verify: z.boolean().default(true),
  })
  .refine((r) => (r.corpusId === undefined) !== (r.datasetId === undefined), {
    message: 'give exactly one of corpusId or datasetId',
    path: ['corpusId'],
  })
  .meta({ id: 'FeatureJobRequest' });
export type FeatureJobRequest = z.output<typeof FeatureJobRequestSchema>;

export const FeatureFailureSchema = z.object({
  sha256: z.string(),
  itemId: z.string().optional(),
  detail: z.string(),
});

export const FeatureJobResultSchema = z
  .object({
    encoderKey: z.string(),
    modality: z.enum(['image', 'audio']),
    requestedEp: ExecutionProviderSchema,
    /** The provider the encoder ran on (null when nothing needed computing). */
    ep: ExecutionProviderSchema.nullable(),
    fallbackReason: z.string().nullable(),
    /** Items in the source, unique media among them, and items skipped (other modality, rejected). */
    items: z.number().int().nonnegative(),
    media: z.number().int().nonnegative(),
    skipped: z.number().int().nonnegative(),
    /** Media already cached (checksums verified when `verify`). */
    hits: z.number().int().nonnegative(),
    /** Media computed by this attempt, of which `recomputed` replaced a corrupt or missing cached copy. */
    computed: z.number().int().nonnegative(),
    recomputed: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    /** The first failures (at most 100), each with its reason. */
    failures: z.array(FeatureFailureSchema),
    /** Shards found without an index segment (left by a crash) and indexed. */
    adoptedShards: z.number().int().nonnegative(),
    shardsWritten: z.number().int().nonnegative(),
    computeSeconds: z.number().nonnegative(),
    /** Media computed per second of compute (fetch + preprocess + encode + write). */
    itemsPerSecond: z.number().nonnegative(),
  })
  .meta({ id: 'FeatureJobResult' });
export type FeatureJobResult = z.infer<typeof FeatureJobResultSchema>;

export const EncoderStatsSchema = z
  .object({
    encoderKey: z.string(),
    identity: EncoderIdentitySchema.optional(),
    spec: z.record(z.string(), z.unknown()).optional(),
    items: z.number().int().nonnegative(),
    shards: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
  })
  .meta({ id: 'FeatureEncoderStats' });
export type EncoderStats = z.infer<typeof EncoderStatsSchema>;
