// `mmit download <repo> [--revision <rev>]`: fetches a Hugging Face checkpoint into the hub cache
// (Python's layout, HF_HUB_CACHE / HF_HOME) with a progress bar, so a machine can be filled before
// going offline or a run can name a model without waiting on its first download. An interrupted
// download continues where it stopped when the command is run again.
import { CheckpointNotFoundError, resolveHubCheckpoint } from '@mmit/models';
import type { Command } from 'commander';
import { z } from 'zod';
import { streamBar } from '../job-progress.js';
import { parseOptions } from '../options.js';

const optionsSchema = z.object({
  revision: z.string().min(1).optional(),
  cacheDir: z.string().min(1).optional(),
  bar: z.boolean().default(true),
});

export function registerDownloadCommand(program: Command): void {
  program
    .command('download')
    .description(
      'download a Hugging Face checkpoint (config, safetensors, tokenizer, processor) into the hub cache',
    )
    .argument('<repo>', 'repo id, e.g. HuggingFaceTB/SmolLM2-135M')
    .option('--revision <rev>', 'branch, tag or commit', 'main')
    .option('--cache-dir <dir>', 'hub cache (default HF_HUB_CACHE, else $HF_HOME/hub)')
    .option('--no-bar', 'print plain lines instead of a progress bar')
    .action(async (repo: string, raw: unknown) => {
      const options = parseOptions(optionsSchema, raw, 'mmit download');
      if (!options) return;
      const bar = streamBar({ label: `downloading ${repo}`, unit: 'MB' }, options.bar);
      const mb = (n: number) => (n / 1e6).toFixed(1);
      try {
        const resolved = await resolveHubCheckpoint(repo, {
          ...(options.revision ? { revision: options.revision } : {}),
          ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
          onProgress: (p) => {
            if (options.bar)
              bar.update({ done: Number(mb(p.bytes)), total: Number(mb(p.total)), detail: p.file });
            else console.log(`  ${p.file}: ${mb(p.bytes)}/${mb(p.total)} MB`);
          },
        });
        bar.stop();
        console.log(`${repo} at commit ${resolved.commit}: ${resolved.dir}`);
      } catch (err) {
        bar.stop();
        if (!(err instanceof CheckpointNotFoundError)) throw err;
        console.error(`mmit download: ${err.message}`);
        process.exitCode = 1;
      }
    });
}
