// `mmit verify <dir>`: runs every golden case in a folder laid out like shared/fixtures/hf-tiny
// (HF transformers' own numbers) through our engine, prints one line per case with its error
// measures against the fixture README's tolerances, and exits 1 when any case fails or is out of
// tolerance. Works for checkpoints of any size: everything is read from configs and case metadata.
// The engine (@mmit/models, @mmit/inference: onnxruntime) is imported when the command runs, so
// `mmit verify --help` does not load it; the provider names come from the contracts.
import { ExecutionProviderSchema } from '@mmit/contracts';
import type { Command } from 'commander';
import { z } from 'zod';
import { parseOptions } from '../options.js';

const EXECUTION_PROVIDERS = ExecutionProviderSchema.options;

const optionsSchema = z.object({
  ep: ExecutionProviderSchema.default('cpu'),
  only: z.array(z.string()).optional(),
});

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description('check the engine against a folder of golden cases (layout of shared/fixtures/hf-tiny)')
    .argument('<dir>', 'folder with case_*.safetensors / case_*.json and the checkpoints they name')
    .option('--ep <provider>', `execution provider (${EXECUTION_PROVIDERS.join(', ')})`, 'cpu')
    .option('--only <names...>', 'run only cases whose file name contains one of these')
    .action(async (dir: string, raw: unknown) => {
      const options = parseOptions(optionsSchema, raw, 'mmit verify');
      if (!options) return;
      const [{ inferenceCaseRunners }, { formatResult, verifyFolder }] = await Promise.all([
        import('@mmit/inference'),
        import('@mmit/models'),
      ]);
      const results = await verifyFolder(dir, {
        ep: options.ep,
        only: options.only,
        runners: inferenceCaseRunners,
        onResult: (result) => console.log(formatResult(result)),
      });
      const failed = results.filter((r) => !r.ok);
      console.log(`${results.length - failed.length}/${results.length} cases within tolerance`);
      if (failed.length > 0) process.exitCode = 1;
    });
}
