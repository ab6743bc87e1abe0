// The ingest service's own environment variables (on top of service-kit's shared ones and the
// MMIT_S3_* storage variables). One table: it validates at start-up and renders into docs/.
import { DEFAULT_MAX_CAPTION_CHARS, DEFAULT_MAX_CAPTIONS_PER_ITEM } from '@mmit/contracts';
import { envBoolean, envVar, jobsConfigSpec } from '@mmit/service-kit';
import { MIN_PART_SIZE } from '@mmit/storage';
import { z } from 'zod';

export const INGEST_DEFAULT_PORT = 7071;

const pathList = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(':')
      .map((p) => p.trim())
      .filter(Boolean),
  );

export const ingestConfigSpec = {
  ...jobsConfigSpec,
  importRoots: envVar(
    'MMIT_INGEST_IMPORT_ROOTS',
    pathList,
    'Colon-separated folders the service may import from by server-local path (empty: only uploaded archives).',
  ),
  maxFileBytes: envVar(
    'MMIT_INGEST_MAX_FILE_BYTES',
    z.coerce
      .number()
      .int()
      .positive()
      .default(256 * 1024 * 1024),
    'Largest single file in an upload or archive entry, in bytes.',
  ),
  maxFiles: envVar(
    'MMIT_INGEST_MAX_FILES',
    z.coerce.number().int().positive().default(10_000),
    'Most files in one multipart upload (archives: options.maxEntries).',
  ),
  maxArchiveBytes: envVar(
    'MMIT_INGEST_MAX_ARCHIVE_BYTES',
    z.coerce
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024 * 1024),
    'Largest archive accepted by POST /v1/corpora/:id/imports, in bytes.',
  ),
  maxCaptionChars: envVar(
    'MMIT_INGEST_MAX_CAPTION_CHARS',
    z.coerce.number().int().min(1).max(10_000_000).default(DEFAULT_MAX_CAPTION_CHARS),
    'Longest caption, in characters; an item with a longer one is rejected (payload_too_large), in uploads and imports alike.',
  ),
  maxCaptionsPerItem: envVar(
    'MMIT_INGEST_MAX_CAPTIONS_PER_ITEM',
    z.coerce.number().int().min(1).max(100_000).default(DEFAULT_MAX_CAPTIONS_PER_ITEM),
    'Most captions one item may carry; an item with more is rejected (payload_too_large).',
  ),
  maxFieldBytes: envVar(
    'MMIT_INGEST_MAX_FIELD_BYTES',
    z.coerce
      .number()
      .int()
      .min(1024)
      .max(256 * 1024 * 1024)
      .default(1024 * 1024),
    'Largest text field of a multipart form (`caption`, `captions`, `format`, `options`), in bytes; a larger one is refused, never cut.',
  ),
  uploadPartBytes: envVar(
    'MMIT_INGEST_UPLOAD_PART_BYTES',
    z.coerce
      .number()
      .int()
      .min(MIN_PART_SIZE)
      .max(512 * 1024 * 1024)
      .default(16 * 1024 * 1024),
    "Part size of resumable uploads (POST /v1/uploads), in bytes: what a client resends after a cut, and what one part request holds in memory. At least S3's 5 MiB.",
  ),
  keepOriginals: envVar(
    'MMIT_INGEST_KEEP_ORIGINALS',
    envBoolean.default(true),
    'Keep original upload bytes beside the normalized copy (a corpus can also turn it off).',
  ),
  concurrency: envVar(
    'MMIT_INGEST_CONCURRENCY',
    z.coerce.number().int().min(1).max(64).default(4),
    'Items an import decodes and stores at once.',
  ),
  jobConcurrency: envVar(
    'MMIT_INGEST_JOBS',
    z.coerce.number().int().min(1).max(16).default(2),
    'Import units run at once by this replica (each with MMIT_INGEST_CONCURRENCY items in flight).',
  ),
  unitEntries: envVar(
    'MMIT_INGEST_UNIT_ENTRIES',
    z.coerce.number().int().min(1).max(100_000).default(250),
    'Entries per unit of an import job: units are what replicas share (and what a crash repeats at most).',
  ),
};
