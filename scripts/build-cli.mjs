#!/usr/bin/env node
// Builds the `mmit` command to JavaScript once (packages/cli/dist), so a command starts in a
// fraction of a second instead of compiling TypeScript through tsx on every call. Run by the root
// `postinstall` (so `pnpm install` leaves a built CLI in a fresh clone) and by
// packages/cli/bin/mmit.mjs when a source changed since the last build.
//
// What is bundled: the CLI and the workspace packages it imports (@mmit/*, TypeScript sources),
// plus the small pure-JS libraries every command loads at start (commander, zod, yaml). Every other
// package stays outside the bundle, imported by the path it resolves to from the importing
// package (pnpm's layout lets only a package's own dependencies resolve from its folder, so a bare
// name would not resolve from dist/); native addons (onnxruntime-node, sharp) cannot be bundled
// anyway. Command groups are loaded with import(), so esbuild splits them into chunks and
// `mmit --help` evaluates none of them.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { basename, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const DIST = join(root, 'packages', 'cli', 'dist');
const ENTRY = join(root, 'packages', 'cli', 'src', 'main.ts');
const BUNDLED = new Set(['commander', 'zod', 'yaml']);
/** Build outputs older than this and not part of the newest build are deleted (a running mmit may still load a chunk of the previous one). */
const KEEP_OLD_MS = 10 * 60_000;

function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** An import path that works from any file in dist/ (they all sit in one folder). */
function importPathFromDist(file) {
  const path = relative(DIST, file).split(sep).join('/');
  return path.startsWith('.') ? path : `./${path}`;
}

const workspacePlugin = {
  name: 'mmit-workspace',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData?.ownResolve) return undefined;
      if (isBuiltin(args.path)) return { path: args.path, external: true };
      const name = packageName(args.path);
      if (name.startsWith('@mmit/') || BUNDLED.has(name)) return undefined;
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        pluginData: { ownResolve: true },
      });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      return { path: importPathFromDist(resolved.path), external: true };
    });
    // A workspace module that finds files beside itself (import.meta.url) keeps its own location:
    // inside the bundle import.meta.url would be dist/'s.
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
      const text = await readFile(args.path, 'utf8');
      const contents = text.includes('import.meta.url')
        ? text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
        : text;
      return { contents, loader: 'ts' };
    });
  },
};

/** Builds dist/ and records the sources it was built from; returns the build's duration in ms. */
export async function buildCli() {
  const started = performance.now();
  const esbuild = await import('esbuild');
  mkdirSync(DIST, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { main: ENTRY },
    // The metafile's paths are relative to this, whatever folder mmit was run from.
    absWorkingDir: root,
    outdir: DIST,
    entryNames: '[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Node's own rules for packages that ship both: the `node`/`import` conditions, `main`.
    conditions: ['node'],
    mainFields: ['main'],
    sourcemap: 'linked',
    // commander is CommonJS: inside an ES module bundle its require('node:events') needs a require.
    banner: {
      js: "import { createRequire as __mmitRequire } from 'node:module'; const require = __mmitRequire(import.meta.url);",
    },
    metafile: true,
    logLevel: 'warning',
    plugins: [workspacePlugin],
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => join(root, p));
  // Dynamic imports are entry points too in the metafile; the CLI's is main.ts.
  const mainSource = relative(root, ENTRY).split(sep).join('/');
  const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === mainSource)?.[0];
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.includes('node_modules/'))
    .map((p) => join(root, p));
  const builtAt = Date.now();
  // The pointer is replaced in one rename, so a concurrent mmit reads the old build or the new one.
  const pointer = join(DIST, 'current.json');
  writeFileSync(`${pointer}.${process.pid}`, JSON.stringify({ entry: basename(entry), builtAt, inputs }));
  renameSync(`${pointer}.${process.pid}`, pointer);
  const keep = new Set([...outputs.map((o) => basename(o)), 'current.json']);
  for (const name of readdirSync(DIST)) {
    const path = join(DIST, name);
    if (
      !keep.has(name) &&
      !name.startsWith('current.json.') &&
      builtAt - statSync(path).mtimeMs > KEEP_OLD_MS
    )
      rmSync(path, { force: true });
  }
  return performance.now() - started;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ms = await buildCli();
  console.log(`mmit: built the CLI into ${relative(root, DIST)} in ${(ms / 1000).toFixed(1)} s`);
}
