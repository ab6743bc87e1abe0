// `mmit export <run> --out <dir> [--format hf|transformers.js|both]`: writes a trained run as a
// Hugging Face LlavaForConditionalGeneration folder (Python transformers and the tools on it)
// and/or the ONNX folder transformers.js loads (browser, Node). With --format both, the folders are
// <out>/hf and <out>/transformers.js. See docs/training.md ("Export").
// By default through the stack, like every other command: the trainer service (through the gateway
// at --url / MMIT_URL) writes the export into the bucket as a job, and the CLI downloads it
// (export-service.ts), so no S3 credentials are needed here. --from-bucket writes it here from the
// bucket directly (MMIT_S3_*, or the embedded store's folder when no endpoint is set), for offline
// use while the services are down.
import { resolve } from 'node:path';
import { DEFAULT_MAX_SHARD_BYTES, EXPORT_FORMATS, ExportError, parseByteSize, runExport } from '@mmit/export';
import type { Command } from 'commander';
import { z } from 'zod';
import { clientOf } from '../client.js';
import { ApiError } from '../http-client.js';
import { parseOptions } from '../options.js';
import { exportThroughService } from './export-service.js';

const optionsSchema = z
  .object({
    out: z.string().min(1),
    format: z.enum(EXPORT_FORMATS).default('both'),
    step: z.coerce.number().int().nonnegative().optional(),
    encoder: z.string().min(1).optional(),
    mergeLora: z.boolean().default(true),
    maxShardSize: z.string().optional(),
    force: z.boolean().default(false),
    fromBucket: z.boolean().default(false),
    dataDir: z.string().min(1).optional(),
    export: z.string().min(1).optional(),
    bar: z.boolean().default(true),
  })
  .refine((o) => !(o.dataDir && !o.fromBucket), {
    message: '--data-dir reads the store directly: add --from-bucket',
  })
  .refine((o) => !(o.export && o.fromBucket), {
    message: '--export downloads an export the service made: it does not go with --from-bucket',
  });

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write a trained run as a Hugging Face LLaVA folder and/or a transformers.js ONNX folder')
    .argument('<run>', 'run id (mmit train ls)')
    .requiredOption('--out <dir>', 'output folder (created; must be empty unless --force)')
    .option(
      '--format <format>',
      `${EXPORT_FORMATS.join(' | ')} (both: <out>/hf and <out>/transformers.js)`,
      'both',
    )
    .option('--step <n>', 'checkpoint step to export (default: the latest)')
    .option('--encoder <checkpoint>', 'vision encoder folder or repo id, when the run names none')
    .option('--no-merge-lora', 'HF folder: keep the original LM weights (LoRA only in lora-adapter/)')
    .option('--max-shard-size <size>', 'largest safetensors shard, e.g. 5GB, 500MB', '5GB')
    .option('--force', 'write into a non-empty folder')
    .option('--export <id>', 'download an export the service made before (its id) instead of a new one')
    .option('--from-bucket', 'write the export here from the bucket (MMIT_S3_*), not through the services')
    .option(
      '--data-dir <dir>',
      'with --from-bucket: the embedded store folder when MMIT_S3_ENDPOINT is unset (default data/s3)',
    )
    .option('--no-bar', 'print plain lines instead of progress bars')
    .action(async (runId: string, raw: unknown, command: Command) => {
      const options = parseOptions(optionsSchema, raw, 'mmit export');
      if (!options) return;
      try {
        const maxShardBytes = options.maxShardSize
          ? parseByteSize(options.maxShardSize)
          : DEFAULT_MAX_SHARD_BYTES;
        if (options.fromBucket) {
          await fromBucket(runId, { ...options, maxShardBytes });
          return;
        }
        await throughService(command, runId, { ...options, maxShardBytes });
      } catch (err) {
        if (!(err instanceof ExportError) && !(err instanceof ApiError)) throw err;
        console.error(`mmit export: ${err.message}`);
        // Ctrl-C has set 130 already.
        if (!process.exitCode) process.exitCode = 1;
      }
    });
}

type Options = z.output<typeof optionsSchema> & { maxShardBytes: number };

async function throughService(command: Command, runId: string, options: Options): Promise<void> {
  // Ctrl-C stops the download; the staging folder is removed before the command ends.
  const controller = new AbortController();
  const interrupt = () => controller.abort(new ExportError('conflict', 'interrupted; nothing was written'));
  process.once('SIGINT', interrupt);
  try {
    const result = await exportThroughService(clientOf(command), {
      runId,
      out: options.out,
      request: {
        format: options.format,
        ...(options.step !== undefined ? { step: options.step } : {}),
        ...(options.encoder ? { encoder: options.encoder } : {}),
        mergeLora: options.mergeLora,
        maxShardBytes: options.maxShardBytes,
      },
      ...(options.export ? { exportId: options.export } : {}),
      force: options.force,
      bar: options.bar,
      signal: controller.signal,
      log: (line) => console.log(line),
    });
    const { manifest } = result.export;
    if (manifest?.hf) {
      const lora = manifest.hf.adapterDir
        ? `; LoRA ${manifest.hf.loraMerged ? 'merged into the LM' : 'not merged'}, adapter in ${resolve(options.out, manifest.hf.dir, manifest.hf.adapterDir)}`
        : '';
      console.log(
        `Hugging Face LLaVA folder: ${resolve(options.out, manifest.hf.dir)} (${manifest.hf.tensors} tensors${lora})`,
      );
    }
    if (manifest?.transformersJs) {
      console.log(`transformers.js folder: ${resolve(options.out, manifest.transformersJs.dir)}`);
    }
    console.log(
      `exported run ${runId} at step ${manifest?.step} (export ${result.export.id}: ${result.files} files, ${(result.bytes / 1e6).toFixed(1)} MB)`,
    );
  } finally {
    process.off('SIGINT', interrupt);
    if (controller.signal.aborted) process.exitCode = 130;
  }
}

async function fromBucket(runId: string, options: Options): Promise<void> {
  const result = await runExport({
    runId,
    out: options.out,
    format: options.format,
    step: options.step,
    encoder: options.encoder,
    mergeLora: options.mergeLora,
    maxShardBytes: options.maxShardBytes,
    force: options.force,
    dataDir: options.dataDir ?? 'data/s3',
    onProgress: (message) => console.log(`  ${message}`),
  });
  if (result.hf) {
    const lora = result.hf.adapterDir
      ? `; LoRA ${result.hf.loraMerged ? 'merged into the LM' : 'not merged'}, adapter in ${result.hf.adapterDir}`
      : '';
    console.log(`Hugging Face LLaVA folder: ${result.hf.dir} (${result.hf.tensors} tensors${lora})`);
  }
  if (result.transformersJs) console.log(`transformers.js folder: ${result.transformersJs.dir}`);
  console.log(`exported run ${runId} at step ${result.step}`);
}
