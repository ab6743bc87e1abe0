// Encoder specs and encoder keys. A spec is what a client asks for (a checkpoint and how to read
// features out of it); an identity is that spec resolved against the checkpoint: the hash of the
// encoder's weights, its architecture sizes, the layer and selection, the preprocessing with every
// default filled in, and the stored and computed dtypes. The encoder key is a hash of the identity,
// so two specs that would produce the same numbers (another path to the same weights, a default
// spelled out) share one key, and any change that alters the numbers gives a new key. The
// execution provider is deliberately not part of it: cpu and GPU results agree to float tolerance
// and share the cache.
import { createHash } from 'node:crypto';
import { z } from 'zod';

/** Bumped when the shard layout or feature semantics change, so old caches are never misread. */
export const FEATURE_FORMAT_VERSION = 1;

export const featureSelects = ['patch', 'cls_patch', 'default', 'full'] as const;
export const storageDTypes = ['float32', 'float16'] as const;
export type StorageDType = (typeof storageDTypes)[number];

/** What a job asks for (an HTTP payload): validated at the service's edge. */
export const EncoderSpecSchema = z
  .object({
    /** A checkpoint folder (config.json + safetensors) or a Hugging Face repo id. */
    checkpoint: z.string().min(1).max(1000),
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
    weightsSha256: z.string().regex(/^[0-9a-f]{64}$/),
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

/** JSON with object keys sorted at every level, so equal values always hash the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const ENCODER_KEY = /^(clip|siglip|whisper)-[0-9a-f]{32}$/;

/** `<kind>-<32 hex>`: readable in bucket listings, safe as a key segment and URL part. */
export function encoderKeyOf(identity: EncoderIdentity): string {
  const digest = createHash('sha256')
    .update(canonicalJson(EncoderIdentitySchema.parse(identity)))
    .digest('hex');
  return `${identity.kind}-${digest.slice(0, 32)}`;
}

export const EncoderKeySchema = z
  .string()
  .regex(ENCODER_KEY, { message: 'expected an encoder key like clip-<32 hex characters>' })
  .meta({ id: 'EncoderKey' });
