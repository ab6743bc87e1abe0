// Encoder specs and encoder keys. A spec is what a client asks for (a checkpoint and how to read
// features out of it); an identity is that spec resolved against the checkpoint: the hash of the
// encoder's weights, its architecture sizes, the layer and selection, the preprocessing with every
// default filled in, and the stored and computed dtypes. The encoder key is a hash of the identity,
// so two specs that would produce the same numbers (another path to the same weights, a default
// spelled out) share one key, and any change that alters the numbers gives a new key. The
// execution provider is deliberately not part of it: cpu and GPU results agree to float tolerance
// and share the cache.
import { createHash } from 'node:crypto';
import { type EncoderIdentity, EncoderIdentitySchema } from '@mmit/contracts';

// The schemas live in @mmit/contracts (HTTP payloads and stored objects); re-exported for this
// package's users.
export {
  type EncoderIdentity,
  EncoderIdentitySchema,
  EncoderKeySchema,
  type EncoderKind,
  EncoderKindSchema,
  type EncoderSpec,
  type EncoderSpecInput,
  EncoderSpecSchema,
  featureSelects,
  type StorageDType,
  storageDTypes,
} from '@mmit/contracts';

/** Bumped when the shard layout or feature semantics change, so old caches are never misread. */
export const FEATURE_FORMAT_VERSION = 1;

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

/** `<kind>-<32 hex>`: readable in bucket listings, safe as a key segment and URL part. */
export function encoderKeyOf(identity: EncoderIdentity): string {
  const digest = createHash('sha256')
    .update(canonicalJson(EncoderIdentitySchema.parse(identity)))
    .digest('hex');
  return `${identity.kind}-${digest.slice(0, 32)}`;
}
