// bench/ingest: images per second through the running ingest service (launcher: embedded S3, the
// service as a child process, the gateway) for N generated 1600x1200 JPEGs, against the same
// normalisation by Python Pillow in one process, measured in the same run. Both are reported per
// wall-clock second and per CPU-second of the process doing the work (the "per core" ratio),
// plus the service's peak resident memory (VmHWM).
// What is counted: the service's CPU is its whole process (every thread: JS, libuv, libvips) from
// /proc, nothing else. The embedded S3 server and the gateway run in this bench process; their CPU
// is printed beside the result, not added to it (in production S3 is another machine). Pillow's is
// its process time. The generated JPEGs are deterministic, so they are kept in the temp folder and
// reused by later runs (--fresh-images regenerates them).
//
// Usage: npx tsx bench/ingest/run.ts [--images 500] [--python /usr/bin/python3] [--fresh-images]
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { launch } from '../../infra/launch.js';
import { photoLikeJpeg } from '../../services/ingest/src/testing/photos.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const COUNT = Number(option('images', '500'));
const PYTHON = option('python', '/usr/bin/python3');
const WIDTH = 1600;
const HEIGHT = 1200;

/** CPU seconds (user + system) and peak RSS of a process, from /proc. */
async function processStats(pid: number): Promise<{ cpuSec: number; peakRssMb: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime, stime (fields 14, 15)
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return { cpuSec: ticks / 100, peakRssMb: hwm / 1024 };
}

/** The N generated JPEGs, from the cache folder when an earlier run left all of them there. */
async function generatedImages(): Promise<string> {
  const dir = join(tmpdir(), `mmit-bench-ingest-images-${WIDTH}x${HEIGHT}-${COUNT}`);
  const names = Array.from({ length: COUNT }, (_, i) => `img-${String(i).padStart(4, '0')}.jpg`);
  const present = new Set(await readdir(dir).catch(() => []));
  if (!args.includes('--fresh-images') && names.every((name) => present.has(name))) {
    console.log(`reusing ${COUNT} generated ${WIDTH}x${HEIGHT} JPEGs in ${dir}`);
    return dir;
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  console.log(`generating ${COUNT} ${WIDTH}x${HEIGHT} JPEGs in ${dir} ...`);
  // Written under a temporary name and renamed, so an interrupted run leaves no truncated image.
  for (const [i, name] of names.entries()) {
    await writeFile(join(dir, `${name}.part`), await photoLikeJpeg(i, WIDTH, HEIGHT));
    await rename(join(dir, `${name}.part`), join(dir, name));
  }
  return dir;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const images = await generatedImages();
const work = await mkdtemp(join(tmpdir(), 'mmit-bench-ingest-'));

const launched = await launch({
  services: ['ingest'],
  gatewayPort: 0,
  freePorts: true,
  dataDir: join(work, 's3'),
  env: { MMIT_INGEST_IMPORT_ROOTS: images, MMIT_LOG_LEVEL: 'warn' },
});
try {
  const api = (path: string, init?: RequestInit) =>
    fetch(`${launched.gatewayUrl}${path}`, init).then((r) => r.json());
  const corpus = (await api('/v1/corpora', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  })) as { id: string };
  const pid = launched.pids.ingest;
  const loadBefore = load();
  const before = await processStats(pid);
  const benchBefore = process.cpuUsage();
  const started = performance.now();
  const job = (await api(`/v1/corpora/${corpus.id}/imports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ format: 'folder', source: { type: 'path', path: images } }),
  })) as { id: string };
  let record: { status: string; result?: { accepted: number } };
  do {
    await new Promise((r) => setTimeout(r, 50));
    record = (await api(`/v1/jobs/${job.id}`)) as typeof record;
  } while (record.status === 'queued' || record.status === 'running');
  const wallSec = (performance.now() - started) / 1000;
  const after = await processStats(pid);
  const benchCpu = process.cpuUsage(benchBefore);
  if (record.status !== 'succeeded' || record.result?.accepted !== COUNT) {
    throw new Error(`import ended ${record.status}: ${JSON.stringify(record)}`);
  }
  const service = { wallSec, cpuSec: after.cpuSec - before.cpuSec, peakRssMb: after.peakRssMb };

  console.log('running the Pillow baseline ...');
  const { stdout } = await promisify(execFile)(PYTHON, [
    join(import.meta.dirname, 'pil_baseline.py'),
    images,
    join(work, 'pil'),
  ]);
  const pil = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    images: number;
    wallSec: number;
    cpuSec: number;
    pillow: string;
  };

  const rate = (n: number, s: number) => (n / s).toFixed(1);
  console.log(
    `\n${COUNT} images ${WIDTH}x${HEIGHT} -> max side 1024, on ${cpus().length} cores (${cpus()[0].model})`,
  );
  console.log(
    `  service: ${rate(COUNT, service.wallSec)} img/s wall, ${rate(COUNT, service.cpuSec)} img per CPU-s, peak RSS ${service.peakRssMb.toFixed(0)} MB`,
  );
  console.log(
    `  Pillow ${pil.pillow}: ${rate(pil.images, pil.wallSec)} img/s wall, ${rate(pil.images, pil.cpuSec)} img per CPU-s (1 process)`,
  );
  console.log(
    `  ratio per core (img per CPU-s): ${(pil.cpuSec / service.cpuSec).toFixed(2)}x   wall: ${(pil.wallSec / service.wallSec).toFixed(2)}x   (target >= 2x per core)`,
  );
  console.log(
    `  embedded S3 server + gateway + polling (this bench process, not counted above): ${((benchCpu.user + benchCpu.system) / 1e6).toFixed(1)} CPU-s`,
  );
  console.log(`  load average (1, 5, 15 min): ${loadBefore} before, ${load()} after`);
  console.log(
    '  note: the service also stores normalized + original + thumbnail objects in S3 for each image.',
  );
} finally {
  await launched.stop();
  await rm(work, { recursive: true, force: true });
}
