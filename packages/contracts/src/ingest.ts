// Ingest payloads: the import request (what to read, in which format), the import summary a job
// returns when done, and the response to a multipart upload.
import { z } from 'zod';
import { CorpusCountsSchema } from './corpus.js';
import { RejectionCodeSchema } from './errors.js';
import { CorpusId } from './ids.js';
import { ItemOutcomeSchema } from './item.js';
import { parseUploadKey } from './keys.js';

export const IMPORT_FORMATS = [
  'folder',
  'tar',
  'zip',
  'llava-json',
  'coco',
  'webdataset',
  'jsonl',
  'csv',
  'hf-folder',
  'parquet',
] as const;
export const ImportFormatSchema = z.enum(IMPORT_FORMATS);
export type ImportFormat = z.infer<typeof ImportFormatSchema>;

function isUploadKey(key: string): boolean {
  try {
    parseUploadKey(key);
    return true;
  } catch {
    return false;
  }
}

/** A path relative to an import's root that cannot leave it (the importers check it again per entry). */
function staysInside(path: string): boolean {
  if (path.includes('\0') || /^([/\\]|[A-Za-z]:)/.test(path)) return false;
  return !path.split(/[/\\]/).includes('..');
}

/** Where the import reads from: a path on the server (allowed roots only) or an uploaded object. */
export const ImportSourceSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('path'), path: z.string().min(1) }),
    z.object({
      type: z.literal('upload'),
      key: z
        .string()
        .max(300)
        .refine((key) => isUploadKey(key), {
          message: 'expected the key an upload was stored under: uploads/<upload id>/<file name>',
        }),
    }),
  ])
  .meta({ id: 'ImportSource' });
export type ImportSource = z.infer<typeof ImportSourceSchema>;

export const ImportOptionsSchema = z
  .object({
    /** Folder that relative media paths in JSON/JSONL/CSV manifests resolve against (default: the manifest's folder). */
    mediaRoot: z
      .string()
      .max(1000)
      .refine((path) => staysInside(path), {
        message: 'must be a relative folder inside the source: no leading /, no drive letter, no .. segment',
      })
      .optional(),
    /** Stop with `too_many_entries` past this many entries (guards against runaway archives). */
    maxEntries: z.number().int().positive().default(1_000_000),
    /** CSV only: the column naming the media file, and the caption columns (AudioCaps/Clotho names are detected). */
    csv: z
      .object({ fileColumn: z.string().optional(), captionColumns: z.array(z.string()).optional() })
      .optional(),
    /**
     * hf-folder and parquet: the caption column(s) (default: the first of text, caption, captions,
     * sentence, transcription that the data has) and, for parquet, the media column (default: the
     * column the Hugging Face features name as Image/Audio, else one called image or audio).
     */
    columns: z
      .object({
        captions: z.array(z.string().min(1).max(200)).min(1).max(20).optional(),
        media: z.string().min(1).max(200).optional(),
      })
      .optional(),
  })
  .meta({ id: 'ImportOptions' });
export type ImportOptions = z.infer<typeof ImportOptionsSchema>;

export const ImportRequestSchema = z
  .object({
    format: ImportFormatSchema,
    source: ImportSourceSchema,
    options: ImportOptionsSchema.default(ImportOptionsSchema.parse({})),
  })
  .meta({ id: 'ImportRequest' });
export type ImportRequest = z.infer<typeof ImportRequestSchema>;

/** The result of an import job: what was seen, what happened to each rejected or duplicate entry. */
export const ImportSummarySchema = z
  .object({
    corpusId: CorpusId,
    format: ImportFormatSchema,
    entries: z.number().int().nonnegative(),
    accepted: z.number().int().nonnegative(),
    duplicate: z.number().int().nonnegative(),
    nearDuplicate: z.number().int().nonnegative(),
    rejected: z.number().int().nonnegative(),
    rejectedByReason: z.partialRecord(RejectionCodeSchema, z.number().int().nonnegative()),
    /** Outcomes of every entry that was not plainly accepted (accepted ones are in the item records). */
    notAccepted: z.array(ItemOutcomeSchema),
    durationSec: z.number().nonnegative(),
  })
  .meta({ id: 'ImportSummary' });
export type ImportSummary = z.infer<typeof ImportSummarySchema>;

/** Response to a multipart upload of files + captions: one outcome per file, in request order, and the counts over this request only. */
export const UploadResponseSchema = z
  .object({ corpusId: CorpusId, outcomes: z.array(ItemOutcomeSchema), counts: CorpusCountsSchema })
  .meta({ id: 'UploadResponse' });
export type UploadResponse = z.infer<typeof UploadResponseSchema>;

/** Starts a resumable upload: the file name it will have and, optionally, its size when known. */
export const CreateUploadRequestSchema = z
  .object({
    filename: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, underscore and hyphen only')
      .refine((name) => name !== '.' && name !== '..', 'not "." or ".."'),
  })
  .meta({ id: 'CreateUploadRequest' });
export type CreateUploadRequest = z.infer<typeof CreateUploadRequestSchema>;

/** A part the service holds: its number (from 1), size and the sha256 of its bytes. */
export const UploadPartSchema = z
  .object({
    n: z.number().int().min(1).max(10_000),
    size: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .meta({ id: 'UploadPart' });
export type UploadPart = z.infer<typeof UploadPartSchema>;

/**
 * A resumable upload: parts of exactly `partBytes` (the last may be shorter) are sent in any order
 * with PUT .../parts/:n, listed back here (a client resumes by sending only the missing ones), then
 * completed into one object at `key`, which an import names as its source.
 */
export const UploadSessionSchema = z
  .object({
    id: z.string(),
    key: z.string(),
    partBytes: z.number().int().positive(),
    state: z.enum(['open', 'complete']),
    parts: z.array(UploadPartSchema),
    /** Set once complete. */
    size: z.number().int().nonnegative().optional(),
    createdAt: z.string(),
  })
  .meta({ id: 'UploadSession' });
export type UploadSession = z.infer<typeof UploadSessionSchema>;

export const CompleteUploadRequestSchema = z
  .object({
    /** How many parts the upload has: 1..parts, all received, every one but the last full-sized. */
    parts: z.number().int().min(1).max(10_000),
  })
  .meta({ id: 'CompleteUploadRequest' });
export type CompleteUploadRequest = z.infer<typeof CompleteUploadRequestSchema>;
