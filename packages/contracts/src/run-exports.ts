// A run's exports as the trainer service makes them (POST /v1/runs/<id>/exports): the request, the
// manifest published once every file is in the bucket (`exports/<run>/<export>/manifest.json`,
// written last, so a reader that finds it finds every file it lists), and the export as the API
// shows it (the job's status and progress, and the manifest once there). Files are immutable once
// written: a client may resume a file by byte range and check it against the manifest's sha256.
import { z } from 'zod';
import { ProblemSchema } from './errors.js';
import { JobId, RunId } from './ids.js';
import { JobProgressSchema, JobStatusSchema } from './jobs.js';

/** A run's export formats (datasets have their own EXPORT_FORMATS): both is `hf/` + `transformers.js/`. */
export const MODEL_EXPORT_FORMATS = ['hf', 'transformers.js', 'both'] as const;
export const ModelExportFormatSchema = z.enum(MODEL_EXPORT_FORMATS);
export type ModelExportFormat = z.infer<typeof ModelExportFormatSchema>;

/** transformers' default max_shard_size (5 GB, decimal). */
export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;

export const ExportRequestSchema = z
  .object({
    format: ModelExportFormatSchema.default('both'),
    /** Checkpoint step (default: the latest complete one). */
    step: z.number().int().nonnegative().optional(),
    /** An encoder checkpoint for a run that names only an encoder key with no encoder.json. */
    encoder: z.string().min(1).max(500).optional(),
    /** HF folder: fold LoRA adapters into the LM weights (the PEFT folder is written either way). */
    mergeLora: z.boolean().default(true),
    /** Largest safetensors shard of the HF folder, in bytes. */
    maxShardBytes: z.number().int().min(1_000).default(DEFAULT_MAX_SHARD_BYTES),
  })
  .strict()
  .meta({ id: 'ExportRequest' });
export type ExportRequestInput = z.input<typeof ExportRequestSchema>;
export type ExportRequest = z.output<typeof ExportRequestSchema>;

/** A path inside an export folder: `/`-separated segments of [A-Za-z0-9._-], never `.` or `..`. */
export const ExportFilePathSchema = z
  .string()
  .max(500)
  .refine((p) => p.split('/').every((s) => /^[A-Za-z0-9._-]{1,128}$/.test(s) && s !== '.' && s !== '..'), {
    message: 'a relative path of [A-Za-z0-9._-] segments, without . or ..',
  });

export const ExportFileSchema = z
  .object({
    path: ExportFilePathSchema,
    size: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .meta({ id: 'ExportFile' });
export type ExportFile = z.infer<typeof ExportFileSchema>;

export const ExportManifestSchema = z
  .object({
    id: JobId,
    runId: RunId,
    /** The checkpoint exported. */
    step: z.number().int().nonnegative(),
    request: ExportRequestSchema,
    /** Every file, relative to the export's folder (with format both: under `hf/` and `transformers.js/`). */
    files: z.array(ExportFileSchema),
    totalBytes: z.number().int().nonnegative(),
    hf: z
      .object({
        dir: z.string(),
        tensors: z.number().int().nonnegative(),
        loraMerged: z.boolean(),
        /** The PEFT adapter folder (relative to the HF folder), when the run trained LoRA. */
        adapterDir: z.string().nullable(),
      })
      .optional(),
    transformersJs: z.object({ dir: z.string(), externalData: z.array(z.string()) }).optional(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'ExportManifest' });
export type ExportManifest = z.infer<typeof ExportManifestSchema>;

/** An export as the API shows it: its job's status and progress, and the manifest once published. */
export const RunExportSchema = z
  .object({
    id: JobId,
    runId: RunId,
    status: JobStatusSchema,
    request: ExportRequestSchema,
    progress: JobProgressSchema,
    error: ProblemSchema.optional(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    manifest: ExportManifestSchema.optional(),
  })
  .meta({ id: 'RunExport' });
export type RunExport = z.infer<typeof RunExportSchema>;
