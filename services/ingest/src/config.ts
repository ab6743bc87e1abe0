// The ingest service's own environment variables (on top of service-kit's shared ones and the
// MMIT_S3_* storage variables). One table: it validates at start-up and renders into docs/.
import { envBoolean, envVar, jobsConfigSpec } from '@mmit/service-kit';
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
