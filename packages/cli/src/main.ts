#!/usr/bin/env node
// The `mmit` command: one entry point, one module per command group under commands/. A group's
// module is imported only when the command line names it: `mmit --help` lists the groups from the
// table below and loads none of them, and no command loads onnxruntime, sharp or the models until
// its action needs them. Every error of every command ends here, in errors.ts's printer.
import { Command } from 'commander';
import { reportError, verboseRequested } from './errors.js';

interface CommandGroup {
  name: string;
  /** The line `mmit --help` shows; the group's own description replaces it once it is loaded. */
  summary: string;
  register(): Promise<(program: Command) => void>;
}

const GROUPS: CommandGroup[] = [
  {
    name: 'corpus',
    summary: 'corpora: create, ls, show, upload, import (images/audio with captions)',
    register: async () => (await import('./commands/corpus.js')).registerCorpusCommands,
  },
  {
    name: 'dataset',
    summary: 'instruction data from a corpus: create, ls, show, samples, export',
    register: async () => (await import('./commands/dataset.js')).registerDatasetCommands,
  },
  {
    name: 'features',
    summary: 'encoder features, computed once and cached: run, ls, show, cancel, stats',
    register: async () => (await import('./commands/features.js')).registerFeaturesCommands,
  },
  {
    name: 'train',
    summary: 'training runs: start, ls, show, watch, cancel, resume, tensorboard',
    register: async () => (await import('./commands/train.js')).registerTrainCommands,
  },
  {
    name: 'export',
    summary: 'write a trained run as a Hugging Face LLaVA folder and/or a transformers.js ONNX folder',
    register: async () => (await import('./commands/export.js')).registerExportCommand,
  },
  {
    name: 'download',
    summary: 'download a Hugging Face checkpoint into the shared cache (resumable, with progress)',
    register: async () => (await import('./commands/download.js')).registerDownloadCommand,
  },
  {
    name: 'chat',
    summary: 'ask a served model (a run id or a base model name) and stream the answer',
    register: async () => (await import('./commands/chat.js')).registerChatCommands,
  },
  {
    name: 'bench',
    summary: 'benchmarks and proofs (bench shapes: the proof that the pipeline learns)',
    register: async () => (await import('./commands/bench-shapes.js')).registerBenchCommands,
  },
  {
    name: 'verify',
    summary: 'check the engine against a folder of golden cases (layout of shared/fixtures/hf-tiny)',
    register: async () => (await import('./commands/verify.js')).registerVerifyCommand,
  },
];

/** Global options that take a value: their value is not the command's name. */
const VALUE_OPTIONS = new Set(['--url', '--api-key']);

/** The group the command line names (`mmit --url x train ls` -> train; `mmit help train` -> train). */
function groupNamed(args: readonly string[]): string | undefined {
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (VALUE_OPTIONS.has(args[i])) i++;
    else if (!args[i].startsWith('-')) words.push(args[i]);
    if (words.length === 2) break;
  }
  return words[0] === 'help' ? words[1] : words[0];
}

const program = new Command()
  .name('mmit')
  .description('Multimodal instruction tuning: ingest, synthesize, cache features, train, serve.')
  .option(
    '--url <url>',
    'base URL of the services (or MMIT_URL)',
    process.env.MMIT_URL ?? 'http://127.0.0.1:7070',
  )
  .option('--api-key <key>', 'bearer token for the services (or MMIT_API_KEY)', process.env.MMIT_API_KEY)
  .option('--verbose', 'print the stack trace with an error (or MMIT_VERBOSE=1)')
  .showSuggestionAfterError();

const named = groupNamed(process.argv.slice(2));
let running = 'mmit';
program.hook('preAction', (_root, action) => {
  const names: string[] = [];
  for (let c: Command | null = action; c; c = c.parent) names.unshift(c.name());
  running = names.join(' ');
});

try {
  for (const group of GROUPS) {
    if (group.name === named) (await group.register())(program);
    else program.command(group.name).description(group.summary);
  }
  await program.parseAsync(process.argv);
} catch (err) {
  reportError(err, running, verboseRequested());
}
