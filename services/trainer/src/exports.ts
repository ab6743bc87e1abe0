// A run's exports, as an operation of the stack (POST /v1/runs/<id>/exports): the trainer owns runs,
// so it writes their Hugging Face / transformers.js folders, as jobs of service-kit's engine (kind
// `export`) with what every job has: a record any replica answers for, progress, cancel, takeover
// by another replica and a restart that picks the job up again.
//
// Why a job that writes into the bucket, rather than an archive streamed in the response: a model
// is GBs, built for minutes; a response stream dies with its connection and would rebuild
// everything on a retry, while files in the bucket are written once, immutable, and served by any
// replica with byte ranges, so a client resumes a file where its download stopped. The exporters of
// @mmit/export are used as they are: they stage into a temporary folder (validated before writing,
// moved into place only whole), here in a child process (export-process.ts: they are synchronous and
// would stall this process's event loop), then each file is streamed into
// `exports/<run>/<export>/files/<path>` (never whole in memory) with its sha256, and the manifest
// (`exports/<run>/<export>/manifest.json`) is written last: a reader that finds it finds every file.
//
// Exports have their own engine (`jobs/trainer-exports/`), apart from the runs': an export must not
// wait behind a training run of hours for the trainer's run slots (MMIT_TRAINER_CONCURRENCY).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import {
  type ExportFile,
  type ExportManifest,
  ExportManifestSchema,
  type ExportRequest,
  ExportRequestSchema,
  type JobRecord,
  keys,
  newId,
  type RunExport,
  RunId,
} from '@mmit/contracts';
import { BOTH_FORMAT_DIRS, exportInChildProcess, LORA_ADAPTER_DIR, loadExportRun } from '@mmit/export';
import { type JobContext, JobRunner, type JobRunnerOptions, type Logger } from '@mmit/service-kit';
import type { Bucket } from '@mmit/storage';
import { z } from 'zod';

export const EXPORT_JOB = 'export';
/** The job engine's service name for exports (records under jobs/trainer-exports/). */
export const EXPORT_SERVICE = 'trainer-exports';

const ExportJobParamsSchema = z.object({ runId: RunId, request: ExportRequestSchema });
type ExportJobParams = z.infer<typeof ExportJobParamsSchema>;

export class ExportNotFoundError extends Error {
  readonly problemCode = 'not_found';
  override name = 'ExportNotFoundError';
}

export class ExportNotReadyError extends Error {
  readonly problemCode = 'conflict';
  override name = 'ExportNotReadyError';
}

export interface ExportManagerOptions {
  bucket: Bucket;
  logger: Logger;
  /** Exports written at once by this process (each holds a model's files on local disk meanwhile). */
  concurrency?: number;
  /** Where exports are staged before upload (default the system's temporary folder). */
  workDir?: string;
  jobs?: Omit<Partial<JobRunnerOptions>, 'bucket' | 'service' | 'logger' | 'concurrency'>;
}

export class ExportManager {
  readonly jobs: JobRunner;

  constructor(private readonly options: ExportManagerOptions) {
    this.jobs = new JobRunner({
      bucket: options.bucket,
      service: EXPORT_SERVICE,
      logger: options.logger,
      concurrency: options.concurrency ?? 1,
      ...options.jobs,
    });
    this.jobs.define(EXPORT_JOB, {
      params: ExportJobParamsSchema,
      run: (ctx) => this.execute(ctx),
      // A failed or cancelled export's files would never be listed by a manifest: remove them.
      ended: async (ctx) => {
        if (ctx.record.status === 'succeeded') return;
        await this.options.bucket.deletePrefix(keys.runExportFilesPrefix(ctx.params.runId, ctx.id));
      },
    });
  }

  /**
   * Checks the request against the run before any work (the run, the checkpoint, the LM and encoder
   * folders are read as the export will read them: a problem is a 4xx now, not a failed job later),
   * then queues the export.
   */
  async create(runId: string, input: unknown): Promise<RunExport> {
    const request = ExportRequestSchema.parse(input);
    await loadExportRun(this.options.bucket, runId, readOptions(request));
    const id = newId('job');
    await this.options.bucket.putJson(keys.runExportRequest(runId, id), request, ExportRequestSchema);
    const record = await this.jobs.submit(EXPORT_JOB, { runId, request } satisfies ExportJobParams, {
      id,
      unit: 'bytes',
    });
    return this.view(record, undefined);
  }

  async get(runId: string, exportId: string): Promise<RunExport> {
    const record = await this.recordOf(runId, exportId);
    const manifest =
      record.status === 'succeeded'
        ? await this.options.bucket.getJsonIfExists(
            keys.runExportManifest(runId, exportId),
            ExportManifestSchema,
          )
        : undefined;
    return this.view(record, manifest);
  }

  /** The run's exports, newest first (export ids sort by creation time). */
  async list(runId: string): Promise<RunExport[]> {
    const prefix = keys.runExportsPrefix(runId);
    const ids = (await this.options.bucket.listPrefixes(prefix))
      .map((p) => p.slice(prefix.length, -1))
      .reverse();
    const found = await Promise.all(ids.map((id) => this.get(runId, id).catch(() => undefined)));
    return found.filter((e): e is RunExport => e !== undefined);
  }

  /** The export now, then on every change of its job, until it ends or `signal` aborts. */
  async *watch(runId: string, exportId: string, signal: AbortSignal): AsyncGenerator<RunExport> {
    await this.recordOf(runId, exportId);
    for await (const record of this.jobs.watch(exportId, signal)) {
      yield record.status === 'succeeded' ? await this.get(runId, exportId) : this.view(record, undefined);
    }
  }

  /** A file of a finished export, as its manifest lists it, and its key (only listed files are served). */
  async file(runId: string, exportId: string, path: string): Promise<{ file: ExportFile; key: string }> {
    const found = await this.get(runId, exportId);
    if (!found.manifest) {
      throw new ExportNotReadyError(
        `export ${exportId} is ${found.status}; its files are served once it has succeeded`,
      );
    }
    const file = found.manifest.files.find((f) => f.path === path);
    if (!file) throw new ExportNotFoundError(`export ${exportId} has no file ${JSON.stringify(path)}`);
    return { file, key: keys.runExportFile(runId, exportId, path) };
  }

  start(): Promise<void> {
    return this.jobs.start();
  }

  stop(): Promise<void> {
    return this.jobs.stop();
  }

  idle(): Promise<void> {
    return this.jobs.idle();
  }

  private async recordOf(runId: string, exportId: string): Promise<JobRecord> {
    const record = await this.jobs.get(exportId).catch((err: unknown) => {
      if ((err as { problemCode?: string }).problemCode === 'not_found') return undefined;
      throw err;
    });
    const params = record ? ExportJobParamsSchema.safeParse(record.params) : undefined;
    if (!record || !params?.success || params.data.runId !== runId) {
      throw new ExportNotFoundError(
        `run ${runId} has no export ${exportId} (GET /v1/runs/${runId}/exports lists them)`,
      );
    }
    return record;
  }

  private view(record: JobRecord, manifest: ExportManifest | undefined): RunExport {
    const params = ExportJobParamsSchema.parse(record.params);
    return {
      id: record.id,
      runId: params.runId,
      status: record.status,
      request: params.request,
      progress: record.progress,
      ...(record.error ? { error: record.error } : {}),
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      ...(manifest ? { manifest } : {}),
    };
  }

  /** The `export` job: writes the export into a local folder, uploads its files, publishes the manifest. */
  private async execute(ctx: JobContext<ExportJobParams>): Promise<JobRecord['result']> {
    const { bucket } = this.options;
    const { runId, request } = ctx.params;
    const manifestKey = keys.runExportManifest(runId, ctx.id);
    // An earlier attempt published and died before its end was recorded: nothing left to do.
    const published = await bucket.getJsonIfExists(manifestKey, ExportManifestSchema);
    if (published) return summary(published);
    // Every attempt starts over (the previous one's local folder was on its own machine).
    ctx.progress.set(0);
    ctx.progress.setTotal(null);
    ctx.progress.note('reading the run');
    const run = await loadExportRun(bucket, runId, readOptions(request));
    const work = await mkdtemp(join(this.options.workDir ?? tmpdir(), `mmit-export-${ctx.id}-`));
    try {
      const out = join(work, 'export');
      const result = await exportInChildProcess(
        run,
        out,
        {
          format: request.format,
          mergeLora: request.mergeLora,
          maxShardBytes: request.maxShardBytes,
          // The folder's final place is the client's: it names the adapter's base (setAdapterBase).
          adapterBase: null,
        },
        { onProgress: (message) => ctx.progress.note(message), signal: ctx.signal },
      );
      const paths = await filesUnder(out);
      const sizes = await Promise.all(paths.map(async (p) => (await stat(join(out, p))).size));
      const totalBytes = sizes.reduce((a, b) => a + b, 0);
      ctx.progress.setTotal(totalBytes);
      const files: ExportFile[] = [];
      for (const [i, path] of paths.entries()) {
        ctx.progress.note(`uploading ${path} (${i + 1}/${paths.length})`);
        const sha256 = await this.upload(join(out, path), keys.runExportFile(runId, ctx.id, path), ctx);
        files.push({ path, size: sizes[i], sha256 });
      }
      const both = request.format === 'both';
      const inside = (dir: string) => (both ? dir : '.');
      const manifest: ExportManifest = {
        id: ctx.id,
        runId,
        step: result.step,
        request,
        files,
        totalBytes,
        ...(result.hf
          ? {
              hf: {
                dir: inside(BOTH_FORMAT_DIRS.hf),
                tensors: result.hf.tensors,
                loraMerged: result.hf.loraMerged,
                adapterDir: result.hf.adapterDir ? LORA_ADAPTER_DIR : null,
              },
            }
          : {}),
        ...(result.transformersJs
          ? {
              transformersJs: {
                dir: inside(BOTH_FORMAT_DIRS.transformersJs),
                externalData: result.transformersJs.externalData,
              },
            }
          : {}),
        createdAt: new Date().toISOString(),
      };
      ctx.assertLease();
      await bucket.putJson(manifestKey, manifest, ExportManifestSchema);
      ctx.logger.info({ runId, step: result.step, files: files.length, totalBytes }, 'export written');
      return summary(manifest);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Streams one file into the bucket (one part in memory at a time), counting bytes; returns its sha256. */
  private async upload(path: string, key: string, ctx: JobContext<ExportJobParams>): Promise<string> {
    const hash = createHash('sha256');
    async function* chunks(): AsyncGenerator<Buffer> {
      for await (const chunk of createReadStream(path, { signal: ctx.signal })) {
        hash.update(chunk as Buffer);
        ctx.progress.advance((chunk as Buffer).length);
        yield chunk as Buffer;
      }
    }
    await this.options.bucket.putStream(key, chunks());
    return hash.digest('hex');
  }
}

function readOptions(request: ExportRequest): { step?: number; encoder?: string } {
  return {
    ...(request.step !== undefined ? { step: request.step } : {}),
    ...(request.encoder ? { encoder: request.encoder } : {}),
  };
}

function summary(manifest: ExportManifest): JobRecord['result'] {
  return { step: manifest.step, files: manifest.files.length, totalBytes: manifest.totalBytes };
}

/** Every file under `dir`, as sorted `/`-separated paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}
