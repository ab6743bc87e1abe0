// `mmit export <run> --out <dir> [--format hf|transformers.js|both]`: writes a trained run as a
// Hugging Face LlavaForConditionalGeneration folder (Python transformers and the tools on it)
// and/or the ONNX folder transformers.js loads (browser, Node). Reads the run from the bucket
// (MMIT_S3_*, or the embedded store's folder when no endpoint is set), not through the trainer
// service, so it works while the services are down. With --format both, the folders are
// <out>/hf and <out>/transformers.js. See docs/training.md ("Export").
import { DEFAULT_MAX_SHARD_BYTES, EXPORT_FORMATS, ExportError, parseByteSize, runExport } from '@mmit/export';
import type { Command } from 'commander';
import { z } from 'zod';
import { parseOptions } from '../options.js';

const optionsSchema = z.object({
  out: z.string().min(1),
  format: z.enum(EXPORT_FORMATS).default('both'),
  step: z.coerce.number().int().nonnegative().optional(),
  encoder: z.string().min(1).optional(),
  mergeLora: z.boolean().default(true),
  maxShardSize: z.string().optional(),
  force: z.boolean().default(false),
  dataDir: z.string().min(1).optional(),
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
    .option('--data-dir <dir>', 'embedded store folder when MMIT_S3_ENDPOINT is unset', 'data/s3')
    .action(async (runId: string, raw: unknown) => {
      const options = parseOptions(optionsSchema, raw, 'mmit export');
      if (!options) return;
      try {
        const result = await runExport({
          runId,
          out: options.out,
          format: options.format,
          step: options.step,
          encoder: options.encoder,
          mergeLora: options.mergeLora,
          maxShardBytes: options.maxShardSize ? parseByteSize(options.maxShardSize) : DEFAULT_MAX_SHARD_BYTES,
          force: options.force,
          dataDir: options.dataDir,
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
      } catch (err) {
        if (!(err instanceof ExportError)) throw err;
        console.error(`mmit export: ${err.message}`);
        process.exitCode = 1;
      }
    });
}
