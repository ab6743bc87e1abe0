// What `mmit export <run>` does, as a library function the CLI command wraps: open the bucket,
// read the run (spec + one checkpoint, bucket only: see run-source.ts), write the chosen formats.
// The bucket is the one MMIT_S3_* names; with no MMIT_S3_ENDPOINT (the one-machine setup, where
// the launcher runs an embedded S3 server on a random port), the embedded store's folder
// (`./data/s3`, or `dataDir`) is opened through a loopback S3 server of our own for the export's
// duration; the export only reads from it.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MODEL_EXPORT_FORMATS, type ModelExportFormat } from '@mmit/contracts';
import { Bucket, embeddedS3Config, hasS3Endpoint, s3ConfigFromEnv, startEmbeddedS3 } from '@mmit/storage';
import { ExportError } from './errors.js';
import { exportHfLlava, type HfExportResult } from './hf-llava.js';
import type { ProgressFn } from './out-dir.js';
import { type ExportRun, loadExportRun } from './run-source.js';
import { exportTransformersJs, type TransformersJsExportResult } from './transformers-js.js';

export const EXPORT_FORMATS = MODEL_EXPORT_FORMATS;
export type ExportFormat = ModelExportFormat;

/** Sub-folders of `out` when both formats are written. */
export const BOTH_FORMAT_DIRS = { hf: 'hf', transformersJs: 'transformers.js' } as const;

export interface ExportCommandOptions {
  runId: string;
  out: string;
  format: ExportFormat;
  step?: number;
  /** Encoder checkpoint when the run does not name one. */
  encoder?: string;
  mergeLora?: boolean;
  maxShardBytes?: number;
  force?: boolean;
  /** The embedded store's folder when MMIT_S3_ENDPOINT is unset (default ./data/s3). */
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  onProgress?: ProgressFn;
}

export interface ExportCommandResult {
  step: number;
  hf?: HfExportResult;
  transformersJs?: TransformersJsExportResult;
}

export function parseExportFormat(value: string): ExportFormat {
  if (!(EXPORT_FORMATS as readonly string[]).includes(value)) {
    throw new ExportError('validation', `format '${value}' is unknown; valid: ${EXPORT_FORMATS.join(', ')}`);
  }
  return value as ExportFormat;
}

const UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
};

/** "5GB", "500MB", "2GiB", "1000000" -> bytes (decimal units, as transformers' max_shard_size). */
export function parseByteSize(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = match ? UNITS[match[2].toUpperCase()] : undefined;
  if (!match || unit === undefined || Number(match[1]) <= 0) {
    throw new ExportError('validation', `size '${value}' is not a positive size like 5GB, 500MB or 2GiB`);
  }
  return Math.floor(Number(match[1]) * unit);
}

export interface OpenedBucket {
  bucket: Bucket;
  close(): Promise<void>;
}

/** The run store: MMIT_S3_* when an endpoint is set, else the embedded store's folder. */
export async function openExportBucket(env: NodeJS.ProcessEnv, dataDir?: string): Promise<OpenedBucket> {
  if (hasS3Endpoint(env)) return { bucket: new Bucket(s3ConfigFromEnv(env)), close: async () => {} };
  const dir = resolve(dataDir ?? join('data', 's3'));
  if (!existsSync(dir)) {
    throw new ExportError(
      'not_found',
      `MMIT_S3_ENDPOINT is not set and there is no embedded store at ${dir}; set MMIT_S3_* to your S3 endpoint or pass --data-dir`,
    );
  }
  const s3 = await startEmbeddedS3({ dir, port: 0 });
  return { bucket: new Bucket(embeddedS3Config(s3, env.MMIT_S3_BUCKET || 'mmit')), close: () => s3.stop() };
}

export interface WriteFormatsOptions {
  format: ExportFormat;
  mergeLora?: boolean;
  maxShardBytes?: number;
  force?: boolean;
  /** HF folder, LoRA not merged: the adapter's base_model_name_or_path (default: the HF folder). */
  adapterBase?: string | null;
  onProgress?: ProgressFn;
}

/**
 * Writes the chosen formats of a run already read (into `out`, or `out/hf` and
 * `out/transformers.js` for both). Synchronous and CPU-bound: a service runs it off its event loop
 * (export-process.ts).
 */
export function exportLoadedRun(
  run: ExportRun,
  out: string,
  options: WriteFormatsOptions,
): ExportCommandResult {
  const progress = options.onProgress ?? (() => {});
  progress(`exporting checkpoint step ${run.step}`);
  const both = options.format === 'both';
  const result: ExportCommandResult = { step: run.step };
  if (options.format === 'hf' || both) {
    result.hf = exportHfLlava(run, both ? join(out, BOTH_FORMAT_DIRS.hf) : out, {
      mergeLora: options.mergeLora,
      maxShardBytes: options.maxShardBytes,
      force: options.force,
      ...(options.adapterBase !== undefined ? { adapterBase: options.adapterBase } : {}),
      onProgress: progress,
    });
  }
  if (options.format === 'transformers.js' || both) {
    result.transformersJs = exportTransformersJs(
      run,
      both ? join(out, BOTH_FORMAT_DIRS.transformersJs) : out,
      { force: options.force, onProgress: progress },
    );
  }
  return result;
}

export async function runExport(options: ExportCommandOptions): Promise<ExportCommandResult> {
  const progress = options.onProgress ?? (() => {});
  const opened = await openExportBucket(options.env ?? process.env, options.dataDir);
  try {
    progress(`reading run ${options.runId}`);
    const run = await loadExportRun(opened.bucket, options.runId, {
      ...(options.step !== undefined ? { step: options.step } : {}),
      ...(options.encoder ? { encoder: options.encoder } : {}),
    });
    return exportLoadedRun(run, options.out, { ...options, onProgress: progress });
  } finally {
    await opened.close();
  }
}
