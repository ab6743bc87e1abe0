// Writes the sample corpus that the README's demo imports: `samples/corpus/`, a folder of images and WAV
// clips with `.txt` caption sidecars (one caption per line). Deterministic (fixed seed), so rerunning it
// reproduces the committed files. Run: npx tsx scripts/make-samples.ts [outDir]
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, parse, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleCorpus } from '../packages/media/src/synthetic.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const outDir = resolve(process.argv[2] ?? join(repoRoot, 'samples', 'corpus'));

await mkdir(outDir, { recursive: true });
// Clear earlier output so a changed generator leaves no stale files behind.
for (const name of await readdir(outDir)) await rm(join(outDir, name), { recursive: true });

const files = await generateSampleCorpus();
let bytes = 0;
for (const file of files) {
  await writeFile(join(outDir, file.name), file.bytes);
  const sidecar = `${file.captions.join('\n')}\n`;
  await writeFile(join(outDir, `${parse(file.name).name}.txt`), sidecar);
  bytes += file.bytes.length + Buffer.byteLength(sidecar);
}
const images = files.filter((f) => !f.name.endsWith('.wav')).length;
console.log(
  `wrote ${images} images and ${files.length - images} clips (${(bytes / 1024).toFixed(0)} KiB) to ${outDir}`,
);
