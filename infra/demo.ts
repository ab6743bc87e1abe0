// `pnpm demo`: the README's main job. Starts everything (embedded S3, the services, the gateway)
// and runs the learning proof through them: `mmit bench shapes` (packages/cli/src/shapes/, the task
// in examples/shapes): a synthetic corpus of pictures and beeps is ingested, turned into
// short-answer questions, its features cached, projectors trained into a frozen tiny LM, and every
// held-out test question asked over /v1/chat/completions; it prints accuracy beside chance, the
// loss curves and the time.
// Arguments after `--` go to `mmit bench shapes` (`--json`, `--seed 2`, `--train 400`, ...).
//
// `pnpm demo -- --tour` instead walks the sample corpus through the `mmit` CLI command by command:
//   ingest   create a corpus and import samples/corpus/ (summary table)
//   synth    make an instruction dataset from its captions (diversity report)
//   features cache the vision tower's features for every image
//   train    train an mlp2x_gelu projector into a frozen LM (loss curve)
//   serve    ask the tuned model about a sample image over /v1/chat/completions
// No weights can be downloaded here, so the vision tower and the LM are tiny random-weight
// checkpoints the demo writes in Hugging Face's layout under data/demo-models/ (the LM's word
// tokenizer covers the sample captions): the answer shows the pipeline works, not what it
// learned. `--keep` leaves everything running afterwards.
//
// The launcher's flags (`--port`, `--port-base`, `--<service>-port`, `--replicas`; see
// launch-settings.ts) and its environment variables apply here too; every other argument goes to
// `mmit bench shapes`.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_LM_SIZES,
  initTinyLm,
  SPECIAL_TOKENS,
  wordVocabulary,
  writeRandomClipVision,
  writeTinyLmCheckpoint,
  writeWordTokenizer,
} from '../examples/shapes/src/index.js';
import { LaunchError, type Launched, launch } from './launch.js';
import { parseLaunchArgs } from './launch-settings.js';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const samples = join(repoRoot, 'samples', 'corpus');
const models = join(repoRoot, 'data', 'demo-models');

/** Runs `mmit <args>` against the gateway, echoing its output; resolves with stdout and the exit code. */
function mmitRun(gatewayUrl: string, args: string[]): Promise<{ out: string; code: number }> {
  return new Promise((resolvePromise) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'packages/cli/src/main.ts', '--url', gatewayUrl, ...args],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on('exit', (code) => resolvePromise({ out: out.trim(), code: code ?? 1 }));
  });
}

async function mmit(gatewayUrl: string, args: string[]): Promise<string> {
  const { out, code } = await mmitRun(gatewayUrl, args);
  if (code !== 0) throw new Error(`mmit ${args.join(' ')} exited ${code}`);
  return out;
}

function step(title: string, command: string): void {
  console.log(`\n== ${title}\n$ mmit ${command}`);
}

/** The demo's frozen models: a random CLIP-shaped tower and a random Llama-shaped LM. */
function writeDemoModels(): { vision: string; lm: string } {
  const vision = join(models, 'vision');
  const lm = join(models, 'lm');
  if (!existsSync(join(vision, 'config.json'))) writeRandomClipVision(vision, 1);
  if (!existsSync(join(lm, 'config.json'))) {
    const captions = readdirSync(samples)
      .filter((f) => f.endsWith('.txt'))
      .map((f) => readFileSync(join(samples, f), 'utf8'));
    const vocabulary = wordVocabulary(captions);
    writeWordTokenizer(lm, vocabulary);
    const sizes = { ...DEFAULT_LM_SIZES, vocabSize: vocabulary.length };
    const tokens = {
      eosTokenId: SPECIAL_TOKENS.indexOf('<|im_end|>'),
      padTokenId: SPECIAL_TOKENS.indexOf('<pad>'),
    };
    writeTinyLmCheckpoint(lm, sizes, tokens, initTinyLm(sizes, 1));
  }
  return { vision, lm };
}

/** The sample corpus, command by command (`--tour`). */
async function sampleTour(url: string): Promise<void> {
  const { vision, lm } = writeDemoModels();
  const started = Date.now();

  step('ingest', 'corpus create samples');
  const corpusId = await mmit(url, ['corpus', 'create', 'samples', '--description', 'the sample corpus']);
  step('ingest', `corpus import ${corpusId} samples/corpus`);
  await mmit(url, ['corpus', 'import', corpusId, samples]);

  step('synth', `dataset create ${corpusId}`);
  const datasetOut = await mmit(url, [
    'dataset',
    'create',
    corpusId,
    '--name',
    'samples',
    '--validation',
    '0.1',
  ]);
  const datasetId = /\bd_[0-9A-Za-z]{22}\b/.exec(datasetOut)?.[0];
  if (!datasetId) throw new Error('the dataset command printed no dataset id');

  step('features', `features run --dataset ${datasetId} --checkpoint data/demo-models/vision`);
  await mmit(url, ['features', 'run', '--dataset', datasetId, '--checkpoint', vision]);

  const spec = {
    datasetId,
    encoder: { spec: { checkpoint: vision } },
    lm: { checkpoint: lm },
    projector: { type: 'mlp2x_gelu' },
    template: 'plain',
    optimizer: { lr: 2e-3 },
    batchSize: 8,
    epochs: 2,
    evalEvery: 4,
    seed: 0,
  };
  const specPath = join(models, 'run-spec.json');
  writeFileSync(specPath, JSON.stringify(spec, null, 2));
  step('train', 'train start data/demo-models/run-spec.json');
  const trainOut = await mmit(url, ['train', 'start', specPath, '--name', 'samples-projector']);
  const runId = /\br_[0-9A-Za-z]{22}\b/.exec(trainOut)?.[0];
  if (!runId) throw new Error('the train command printed no run id');

  const image = readdirSync(samples).find((f) => f.endsWith('.png'))!;
  step('serve', `chat --model ${runId} --image samples/corpus/${image} "Describe the image."`);
  await mmit(url, [
    'chat',
    '--model',
    runId,
    '--image',
    join(samples, image),
    '--max-tokens',
    '16',
    'Describe the image.',
  ]);

  console.log(`\nThe pipeline ran end to end in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
}

/** Starts the stack, or ends the demo with the launcher's message (a taken port, a bad flag). */
async function launchOrExit(argv: string[]): Promise<{ launched: Launched; args: string[] }> {
  try {
    const { flags, rest } = parseLaunchArgs(argv);
    const launched = await launch({
      ...flags,
      services: ['ingest', 'synth', 'features', 'trainer', 'serve'],
    });
    return { launched, args: rest };
  } catch (err) {
    if (!(err instanceof LaunchError)) throw err;
    console.error(`mmit demo: ${err.message}`);
    process.exit(1);
  }
}

const { launched, args } = await launchOrExit(process.argv.slice(2).filter((a) => a !== '--'));
const keep = args.includes('--keep');
const tour = args.includes('--tour');
const benchArgs = args.filter((a) => a !== '--keep' && a !== '--tour');
try {
  const url = launched.gatewayUrl;
  console.error(`gateway ${url}`);
  if (tour) {
    await sampleTour(url);
  } else {
    const { code } = await mmitRun(url, ['bench', 'shapes', ...benchArgs]);
    // 3: the proof ran to the end but missed a target; the demo itself worked.
    process.exitCode = code === 3 ? 0 : code;
  }
  if (keep) {
    console.error(`still running (Ctrl-C stops): gateway ${url}`);
    await new Promise<void>((done) => process.once('SIGINT', () => done()));
  }
} finally {
  await launched.stop();
}
