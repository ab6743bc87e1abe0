#!/usr/bin/env node
// `mmit`: runs the CLI bundle (packages/cli/dist, built by scripts/build-cli.mjs at install) when
// it is at least as new as every source it was built from; after an edit it rebuilds first (esbuild,
// about a second), so the bundle never runs stale code. Without esbuild (an install without dev
// dependencies) it runs the TypeScript sources through tsx, as development did before the bundle.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const builder = new URL('../../../scripts/build-cli.mjs', import.meta.url);

function currentBuild() {
  try {
    const build = JSON.parse(readFileSync(`${dist}current.json`, 'utf8'));
    // One stat per source file (a few hundred, a few milliseconds): an edit or a deleted file means stale.
    for (const input of build.inputs) if (statSync(input).mtimeMs > build.builtAt) return undefined;
    return build;
  } catch {
    return undefined;
  }
}

let build = currentBuild();
if (!build) {
  try {
    const { buildCli } = await import(builder.href);
    const ms = await buildCli();
    if (process.env.MMIT_VERBOSE)
      process.stderr.write(`mmit: rebuilt the CLI bundle in ${Math.round(ms)} ms\n`);
    build = currentBuild();
  } catch (err) {
    if (process.env.MMIT_VERBOSE)
      process.stderr.write(`mmit: no bundle (${err.message}); running the sources with tsx\n`);
  }
}
if (build) {
  // Stack traces (--verbose) should name the TypeScript sources, not the bundle's lines.
  if (process.argv.includes('--verbose') || process.env.MMIT_VERBOSE) process.setSourceMapsEnabled(true);
  await import(pathToFileURL(`${dist}${build.entry}`).href);
} else {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  // tsx resolved from here: the user's working folder need not be inside the repository.
  const tsx = import.meta.resolve('tsx');
  const child = spawnSync(process.execPath, ['--import', tsx, main, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exitCode = child.status ?? 1;
}
