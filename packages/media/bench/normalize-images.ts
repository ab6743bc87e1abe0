// Image normalisation speed against Python PIL doing the same job on the same files, in the same run.
// Generates N photo-like 1600x1200 JPEGs (smooth colour fields + drawn shapes + pixel noise, quality 90),
// then times, one image at a time on one core each:
//   ours: normalizeImage (decode, EXIF orientation, sRGB, bound to 1024, JPEG q90, sha256 x2, pHash);
//   PIL:  open, exif_transpose, convert RGB, thumbnail 1024 (its default draft + bicubic), JPEG q90, sha256.
// PIL does less (no pHash, no ICC handling for profile-less files), so the ratio errs against us.
// Also reports ours with two images in flight (both cores). Other work on the machine slows either side at
// random, so the two alternate for several rounds and each side's best round counts.
// Run: npx tsx packages/media/bench/normalize-images.ts [images=60] [rounds=3]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { configureImagePipeline, normalizeImage } from '../src/index.js';
import { createRng, randomScene, sceneSvg } from '../src/synthetic.js';

const count = Number(process.argv[2] ?? 60);
const rounds = Number(process.argv[3] ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'mmit-bench-'));

async function photo(seed: number): Promise<Buffer> {
  const rng = createRng(seed);
  const grid = Buffer.alloc(8 * 6 * 3);
  for (let i = 0; i < grid.length; i++) grid[i] = Math.floor(rng() * 256);
  const background = await sharp(grid, { raw: { width: 8, height: 6, channels: 3 } })
    .resize(1600, 1200)
    .png()
    .toBuffer();
  const scene = randomScene(rng);
  const shapes = Buffer.from(
    sceneSvg({ ...scene, background: 'white' }, 1600, 1200).replace(/<rect width="100%"[^>]*\/>/, ''),
  );
  const { data, info } = await sharp(background)
    .composite([{ input: shapes }])
    .raw()
    .toBuffer({ resolveWithObject: true });
  for (let i = 0; i < data.length; i++)
    data[i] = Math.max(0, Math.min(255, data[i] + Math.floor(rng() * 9) - 4));
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

const PIL_SCRIPT = `
import sys, time, hashlib, io, resource
from PIL import Image, ImageOps
paths = sys.argv[1:]
start = time.perf_counter()
for p in paths:
    with Image.open(p) as im:
        im = ImageOps.exif_transpose(im).convert('RGB')
        im.thumbnail((1024, 1024))
        buf = io.BytesIO()
        im.save(buf, 'JPEG', quality=90)
        hashlib.sha256(buf.getvalue()).hexdigest()
    with open(p, 'rb') as f:
        hashlib.sha256(f.read()).hexdigest()
elapsed = time.perf_counter() - start
print(f"{elapsed} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
`;

const paths: string[] = [];
const inputs: Buffer[] = [];
for (let i = 0; i < count; i++) {
  const bytes = await photo(i + 1);
  const path = join(dir, `photo-${i}.jpg`);
  writeFileSync(path, bytes);
  paths.push(path);
  inputs.push(bytes);
}
const meanKb = inputs.reduce((n, b) => n + b.length, 0) / count / 1024;
console.log(`${count} JPEGs of 1600x1200, mean ${meanKb.toFixed(0)} KiB`);

configureImagePipeline({ concurrency: 1 });
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);

function runPil(): { seconds: number; maxRssKb: number } {
  const python = spawnSync('/usr/bin/python3', ['-c', PIL_SCRIPT, ...paths], { encoding: 'utf8' });
  if (python.status !== 0) {
    console.error(`PIL baseline failed (apt-get install python3-pil):\n${python.stderr}`);
    process.exit(1);
  }
  const [seconds, maxRssKb] = python.stdout.trim().split(' ').map(Number);
  return { seconds, maxRssKb };
}

async function runOurs(inFlight: number): Promise<number> {
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < inputs.length) await normalizeImage(inputs[next++]);
    }),
  );
  return (performance.now() - start) / 1000;
}

await normalizeImage(inputs[0]); // warm-up: loads codecs
let pilSeconds = Number.POSITIVE_INFINITY;
let pilMaxRssKb = 0;
let oursSerial = Number.POSITIVE_INFINITY;
let oursParallel = Number.POSITIVE_INFINITY;
for (let round = 0; round < rounds; round++) {
  const pil = runPil();
  pilSeconds = Math.min(pilSeconds, pil.seconds);
  pilMaxRssKb = Math.max(pilMaxRssKb, pil.maxRssKb);
  oursSerial = Math.min(oursSerial, await runOurs(1));
  oursParallel = Math.min(oursParallel, await runOurs(2));
}
clearInterval(sampler);
rmSync(dir, { recursive: true });

const rate = (seconds: number) => (count / seconds).toFixed(1);
console.log(
  `PIL, 1 core:            ${rate(pilSeconds)} images/s   (peak RSS ${(pilMaxRssKb / 1024).toFixed(0)} MiB)`,
);
console.log(
  `mmit media, 1 at a time: ${rate(oursSerial)} images/s   ratio vs PIL ${(pilSeconds / oursSerial).toFixed(2)}x`,
);
console.log(
  `mmit media, 2 in flight: ${rate(oursParallel)} images/s   (peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB)`,
);
