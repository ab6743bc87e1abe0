// The feature service's contracts: the encoder spec a client sends (a checkpoint and how to read
// features out of it), the identity it resolves to and the key naming its cached features
// (@mmit/features computes both), the job request and result, and the per-encoder stats.
import { z } from 'zod';
import { CorpusId, DatasetId } from './ids.js';
import { Sha256Schema } from './item.js';

export const featureSelects = ['patch', 'cls_patch', 'default', 'full'] as const;
export const storageDTypes = ['float32', 'float16'] as const;
export type StorageDType = (typeof storageDTypes)[number];

/** What a job asks for (an HTTP payload): validated at the service's edge. */
export const EncoderSpecSchema = z
  .object({
    /** A checkpoint folder (config.json + safetensors) or a Hugging Face repo id. */
    checkpoint: z.string().min(1).max(1000),
    /** For a repo id: a branch, tag or commit (default main); a run records the commit it used. */
    revision: z.string().min(1).max(200).optional(),
    /** HF `vision_feature_layer`: an index into hidden_states, or several concatenated (vision only). */
    visionFeatureLayer: z.union([z.number().int(), z.array(z.number().int()).min(1).max(8)]).default(-2),
    /** LLaVA's feature selection: 'patch' drops CLS (vision only). */
    select: z.enum(featureSelects).default('patch'),
    /** A folder with preprocessor_config.json (image processor or Whisper feature extractor); default: the checkpoint's own. */
    processor: z.string().min(1).max(1000).optional(),
    /** Where the encoder's weights live inside a checkpoint that holds several (e.g. 'vision_tower.vision_model.'). */
    prefix: z.string().max(200).optional(),
    /** dtype of the stored features. */
    dtype: z.enum(storageDTypes).default('float32'),
    /** Precision of the encoder graph (float16 is the GPU path). */
    compute: z.enum(storageDTypes).default('float32'),
  })
  .meta({ id: 'EncoderSpec' });
export type EncoderSpec = z.output<typeof EncoderSpecSchema>;
export type EncoderSpecInput = z.input<typeof EncoderSpecSchema>;

export const EncoderKindSchema = z.enum(['clip', 'siglip', 'whisper']);
export type EncoderKind = z.infer<typeof EncoderKindSchema>;

/** A spec resolved against its checkpoint: everything that decides the feature numbers, nothing else. */
export const EncoderIdentitySchema = z
  .object({
    format: z.number().int().positive(),
    kind: EncoderKindSchema,
    modality: z.enum(['image', 'audio']),
    /** sha256 over the encoder's own tensors (names, dtypes, shapes, bytes), not the whole checkpoint. */
    weightsSha256: Sha256Schema,
    /** The architecture sizes read from config.json. */
    architecture: z.record(z.string(), z.unknown()),
    /** Vision: hidden_states index or indexes; audio: null (last_hidden_state). */
    layer: z.union([z.number().int(), z.array(z.number().int()), z.null()]),
    select: z.enum(featureSelects).nullable(),
    /** The preprocessing plan with defaults resolved (image processor plan or log-mel config + window). */
    preprocessing: z.record(z.string(), z.unknown()),
    dtype: z.enum(storageDTypes),
    compute: z.enum(storageDTypes),
  })
  .meta({ id: 'EncoderIdentity' });
export type EncoderIdentity = z.infer<typeof EncoderIdentitySchema>;

/** The modality each encoder kind reads. */
export const ENCODER_KIND_MODALITY = {
  clip: 'image',
  siglip: 'image',
  whisper: 'audio',
} as const satisfies Record<EncoderKind, 'image' | 'audio'>;

/** The modality an encoder key's features are of (its kind prefix says), or null for a key of no known kind. */
export function modalityOfEncoderKey(key: string): 'image' | 'audio' | null {
  const kind = key.split('-')[0];
  return kind in ENCODER_KIND_MODALITY ? ENCODER_KIND_MODALITY[kind as EncoderKind] : null;
}

const ENCODER_KEY = /^(clip|siglip|whisper)-[0-9a-f]{32}$/;

/** `<kind>-<32 hex>` (@mmit/features' encoderKeyOf): readable in bucket listings, safe as a key segment and URL part. */
export const EncoderKeySchema = z
  .string()
  .regex(ENCODER_KEY, { message: 'expected an encoder key like clip-<32 hex characters>' })
  .meta({ id: 'EncoderKey' });

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

// The cache's stored objects under `features/<encoderKey>/` (keys.feature*).

const PlacementSchema = z.object({
  dtype: z.enum(['float32', 'float16', 'uint8', 'int32']),
  shape: z.array(z.number().int().nonnegative()),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
});

/** One item in the index: which shard, which bytes, what shape, and the checksum of those bytes. */
export const FeatureEntrySchema = z
  .object({
    sha256: Sha256Schema,
    shardId: z.string(),
    /** The item's byte range in the shard (features, then mask). */
    offset: z.number().int().nonnegative(),
    length: z.number().int().nonnegative(),
    checksum: Sha256Schema,
    features: PlacementSchema,
    mask: PlacementSchema.optional(),
  })
  .meta({ id: 'FeatureEntry' });
export type FeatureEntry = z.infer<typeof FeatureEntrySchema>;

/** `index/<shardId>.json`: the entries of one shard, written after the shard. */
export const IndexSegmentSchema = z
  .object({
    format: z.number().int().positive(),
    encoderKey: z.string(),
    shardId: z.string(),
    shardKey: z.string(),
    /** Size and sha256 of the whole shard object. */
    bytes: z.number().int().nonnegative(),
    sha256: Sha256Schema,
    createdAt: z.iso.datetime(),
    entries: z.array(FeatureEntrySchema),
  })
  .meta({ id: 'FeatureIndexSegment' });
export type IndexSegment = z.infer<typeof IndexSegmentSchema>;

/** `encoder.json`: what an encoder key stands for, for people and for `stats`. */
export const EncoderRecordSchema = z
  .object({
    encoderKey: z.string(),
    identity: EncoderIdentitySchema,
    /** The spec of the job that first wrote this key (others may reach the same key another way). */
    spec: z.record(z.string(), z.unknown()),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'EncoderRecord' });
export type EncoderRecord = z.infer<typeof EncoderRecordSchema>;
