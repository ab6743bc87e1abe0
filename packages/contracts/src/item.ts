// Item records (one JSON line each in `corpora/<id>/items/*.jsonl`) and the per-item outcome that
// bulk responses return. A record exists for every item offered, including rejected ones, so
// nothing is dropped silently and a rerun can tell what it already saw.
import { z } from 'zod';
import { RejectionCodeSchema, RejectionSchema } from './errors.js';
import { CorpusId, ItemId } from './ids.js';

/** A sha256 digest as 64 lowercase hex characters. */
export const Sha256Schema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, { message: 'expected 64 lowercase hex characters' });
const Sha256 = Sha256Schema;

export const ModalitySchema = z.enum(['image', 'audio']);
export type Modality = z.infer<typeof ModalitySchema>;

export const ItemStatusSchema = z.enum(['accepted', 'duplicate', 'rejected']);
export type ItemStatus = z.infer<typeof ItemStatusSchema>;

export const MediaRefSchema = z
  .object({
    sha256: Sha256,
    /** Key of the normalized media object. */
    key: z.string(),
    /** Key of the original bytes, when kept. */
    originalKey: z.string().optional(),
    thumbnailKey: z.string().optional(),
    bytes: z.number().int().nonnegative(),
  })
  .meta({ id: 'MediaRef' });

export const ImageInfoSchema = z
  .object({
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** Format of the stored normalized image (e.g. jpeg, png, webp). */
    format: z.string(),
    originalWidth: z.number().int().positive(),
    originalHeight: z.number().int().positive(),
    originalFormat: z.string(),
    /** 64-bit perceptual hash, 16 hex characters. */
    phash: z.string().regex(/^[0-9a-f]{16}$/),
    nearDuplicateOf: z.object({ itemId: ItemId, distance: z.number().int().min(0).max(64) }).optional(),
  })
  .meta({ id: 'ImageInfo' });
export type ImageInfo = z.infer<typeof ImageInfoSchema>;

export const AudioInfoSchema = z
  .object({
    durationSec: z.number().nonnegative(),
    sampleRate: z.number().int().positive(),
    channels: z.number().int().positive(),
    /** Source container/codec: wav, flac, mp3, ogg, opus. */
    format: z.string(),
    /** Key of the 16 kHz mono copy. */
    normalizedKey: z.string(),
  })
  .meta({ id: 'AudioInfo' });
export type AudioInfo = z.infer<typeof AudioInfoSchema>;

export const ItemRecordSchema = z
  .object({
    id: ItemId,
    corpusId: CorpusId,
    /** Where the item came from: the path inside the archive or folder, or the upload's filename. */
    source: z.string(),
    modality: ModalitySchema,
    captions: z.array(z.string()),
    status: ItemStatusSchema,
    rejection: RejectionSchema.optional(),
    /** For exact duplicates: the item that first stored the same bytes. */
    duplicateOf: ItemId.optional(),
    media: MediaRefSchema.optional(),
    image: ImageInfoSchema.optional(),
    audio: AudioInfoSchema.optional(),
    /** Format-specific extras carried through import (COCO boxes, LLaVA conversations, ...). */
    extra: z.record(z.string(), z.unknown()).default({}),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'ItemRecord' });
export type ItemRecord = z.infer<typeof ItemRecordSchema>;

/** What happened to the item at `index` of a bulk request. */
export const ItemOutcomeSchema = z
  .object({
    index: z.number().int().nonnegative(),
    source: z.string(),
    status: ItemStatusSchema,
    itemId: ItemId.optional(),
    duplicateOf: ItemId.optional(),
    nearDuplicateOf: ItemId.optional(),
    error: z.object({ type: RejectionCodeSchema, detail: z.string() }).optional(),
  })
  .meta({ id: 'ItemOutcome' });
export type ItemOutcome = z.infer<typeof ItemOutcomeSchema>;
