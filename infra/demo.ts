// `pnpm demo`: the README's main job for now. Starts everything (embedded S3, services, gateway),
// creates a corpus, imports the sample corpus in samples/corpus/ through the mmit CLI (progress
// bar and summary table included), then stops; `--keep` leaves it all running.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from './launch.js';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const keep = process.argv.includes('--keep');

function mmit(gatewayUrl: string, args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'packages/cli/src/main.ts', '--url', gatewayUrl, ...args],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on('exit', (code) =>
      code === 0 ? resolvePromise(out.trim()) : reject(new Error(`mmit ${args.join(' ')} exited ${code}`)),
    );
  });
}

const launched = await launch();
try {
  console.log(`gateway ${launched.gatewayUrl}\n$ mmit corpus create samples`);
  const corpusId = await mmit(launched.gatewayUrl, [
    'corpus',
    'create',
    'samples',
    '--description',
    'the sample corpus',
  ]);
  console.log(`$ mmit corpus import ${corpusId} samples/corpus`);
  await mmit(launched.gatewayUrl, ['corpus', 'import', corpusId, resolve(repoRoot, 'samples/corpus')]);
  if (keep) {
    console.log(`\nstill running (Ctrl-C stops): gateway ${launched.gatewayUrl}, corpus ${corpusId}`);
    process.on('SIGINT', () => launched.stop().then(() => process.exit(0)));
  }
} finally {
  if (!keep) await launched.stop();
}
