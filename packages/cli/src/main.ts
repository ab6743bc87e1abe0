#!/usr/bin/env node
// The `mmit` command: one entry point, one module per command group under commands/.
import { Command } from 'commander';
import { registerBenchCommands } from './commands/bench-shapes.js';
import { registerChatCommands } from './commands/chat.js';
import { registerCorpusCommands } from './commands/corpus.js';
import { registerDatasetCommands } from './commands/dataset.js';
import { registerDownloadCommand } from './commands/download.js';
import { registerExportCommand } from './commands/export.js';
import { registerFeaturesCommands } from './commands/features.js';
import { registerTrainCommands } from './commands/train.js';
import { registerVerifyCommand } from './commands/verify.js';

const program = new Command()
  .name('mmit')
  .description('Multimodal instruction tuning: ingest, synthesize, cache features, train, serve.')
  .option(
    '--url <url>',
    'base URL of the services (or MMIT_URL)',
    process.env.MMIT_URL ?? 'http://127.0.0.1:7070',
  )
  .option('--api-key <key>', 'bearer token for the services (or MMIT_API_KEY)', process.env.MMIT_API_KEY);

registerCorpusCommands(program);
registerDatasetCommands(program);
registerFeaturesCommands(program);
registerTrainCommands(program);
registerExportCommand(program);
registerDownloadCommand(program);
registerChatCommands(program);
registerBenchCommands(program);
registerVerifyCommand(program);

await program.parseAsync(process.argv);
