// Builds the browser app (web/) into dist/ with Vite, so a fresh clone needs no manual step: the
// server builds on first start when dist/ is missing, and the browser tests build before they
// run. The optional typecheck runs tsc over web/ (the root typecheck covers only Node code).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const consoleRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const webDir = join(consoleRoot, 'web');
export const distDir = join(consoleRoot, 'dist');

export class WebBuildError extends Error {
  override name = 'WebBuildError';
}

function typecheckWeb(): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', join(webDir, 'tsconfig.json')], {
      cwd: consoleRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolvePromise() : reject(new WebBuildError(`tsc over web/ failed:\n${output}`)),
    );
  });
}

/** Builds web/ into dist/ (typechecking first when asked). */
export async function buildWeb(options: { typecheck?: boolean } = {}): Promise<void> {
  if (options.typecheck) await typecheckWeb();
  const { build } = await import('vite');
  await build({ configFile: join(webDir, 'vite.config.ts'), logLevel: 'warn' });
  if (!existsSync(join(distDir, 'index.html')))
    throw new WebBuildError(`vite finished but ${distDir}/index.html is missing`);
}

/** Builds only when dist/ has no index.html (first start of a fresh clone). */
export async function ensureWebBuild(): Promise<'built' | 'present'> {
  if (existsSync(join(distDir, 'index.html'))) return 'present';
  await buildWeb();
  return 'built';
}
