// Corpora: the create request, the options that govern ingestion, and the published manifest
// (`corpora/<id>/manifest.json`) with its running counts.
import { z } from 'zod';
import { RejectionCodeSchema } from './errors.js';
import { CorpusId } from './ids.js';

const Timestamp = z.iso.datetime();

export const CorpusOptionsSchema = z
  .object({
    /** Longest side of the stored (normalized) image; larger images are scaled down. */
    maxSide: z.number().int().min(32).max(16384).default(1024),
    /** Keep the uploaded bytes as well as the normalized copy. */
    keepOriginals: z.boolean().default(true),
    /** Images whose 64-bit perceptual hashes differ in at most this many bits are flagged. */
    nearDuplicateThreshold: z.number().int().min(0).max(64).default(6),
    /** Longest side of the preview thumbnail (0 = no thumbnails). */
    thumbnailSide: z.number().int().min(0).max(1024).default(256),
  })
  .meta({ id: 'CorpusOptions' });
export type CorpusOptions = z.infer<typeof CorpusOptionsSchema>;

export const CreateCorpusRequestSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(10_000).default(''),
    options: CorpusOptionsSchema.default(CorpusOptionsSchema.parse({})),
  })
  .meta({ id: 'CreateCorpusRequest' });
export type CreateCorpusRequest = z.infer<typeof CreateCorpusRequestSchema>;

/** Counts over all items ever added. Every item lands in exactly one of accepted/duplicate/rejected. */
export const CorpusCountsSchema = z
  .object({
    accepted: z.number().int().nonnegative(),
    duplicate: z.number().int().nonnegative(),
    /** Accepted images flagged as near duplicates of an earlier one (a subset of `accepted`). */
    nearDuplicate: z.number().int().nonnegative(),
    rejected: z.number().int().nonnegative(),
    rejectedByReason: z.partialRecord(RejectionCodeSchema, z.number().int().nonnegative()),
    images: z.number().int().nonnegative(),
    audio: z.number().int().nonnegative(),
  })
  .meta({ id: 'CorpusCounts' });
export type CorpusCounts = z.infer<typeof CorpusCountsSchema>;

export function emptyCorpusCounts(): CorpusCounts {
  return {
    accepted: 0,
    duplicate: 0,
    nearDuplicate: 0,
    rejected: 0,
    rejectedByReason: {},
    images: 0,
    audio: 0,
  };
}

/** One file of item records under `corpora/<id>/items/`, and how many records it holds. */
export const ItemPartSchema = z.object({ part: z.string(), items: z.number().int().nonnegative() });

export const CorpusManifestSchema = z
  .object({
    id: CorpusId,
    name: z.string(),
    description: z.string(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    options: CorpusOptionsSchema,
    counts: CorpusCountsSchema,
    /** Item part files in write order; readers list items from these, never from a half-written part. */
    parts: z.array(ItemPartSchema).default([]),
    /** Increments on each publish, so a reader can tell two manifests apart. */
    version: z.number().int().nonnegative(),
  })
  .meta({ id: 'CorpusManifest' });
export type CorpusManifest = z.infer<typeof CorpusManifestSchema>;
