// bench/scale: what each step costs per item as the corpus grows. For each size N (default 1k, 10k,
// 100k) it generates N tiny distinct PNGs with captions (16x16 seeded noise: no exact or near
// duplicates), writes them as a JSONL import source, starts the real services through launch()
// (ingest, synth, features as child processes, the gateway and the embedded S3 server in this
// process, data under a temp folder) and times, one after another:
//   import    POST /v1/corpora/:id/imports (jsonl, path source), until the job ends
//   dataset   POST /v1/datasets (template generator, one `brief` sample per item)
//   features  POST /v1/features/jobs with the tiny CLIP fixture (shared/fixtures/hf-tiny)
//   list      GET /v1/corpora/:id/items, every page (limit 1000), the whole corpus
// For each step: wall ms per item, CPU ms per item of the service doing it (its whole process, from
// /proc), and that service's peak RSS (VmHWM). Each service mostly runs one step (ingest is
// restarted before `list`, so its peak is the listing's alone). The bench process holds the S3
// server and the gateway: its CPU per item is printed too (s3), not added to the service's.
// Then, at --replicas-size (default 10000, when that size ran), the same features job with 1 and 2
// feature replicas (a fresh feature index each time): wall time, claims and lease renewals per
// second, and the mean time units waited from the job's plan to their first claim, all read from
// the replicas' own /metrics (mmit_job_* from the job engine).
//
// Reading it: the per-item ratio of the largest size to the smallest should be about 1 for every
// step (flat); a step whose per-item cost grows with N does work linear in the corpus per item.
// CPU ms/item is the steadier figure on a shared machine; wall ms/item includes waiting (on S3,
// on the job engine's poll interval, on other processes). Memory should not grow with N except by
// what a step must hold (e.g. a plan of N media).
//
// Usage: npx tsx bench/scale/run.ts [--sizes 1000,10000,100000] [--stages import,dataset,features,list]
//          [--replicas-size 10000] [--out bench/scale/results/<date>.txt] [--data DIR]
// --data DIR keeps each size's bucket under DIR/<size>; a later run without the import stage
// reuses the corpus there (e.g. to compare a change to the features job without importing again).
// The generated images are kept in the temp folder per size and reused (--fresh-images regenerates).
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Launched, launch } from '../../infra/launch.js';
import {
  CorpusManifestSchema,
  emptyCorpusCounts,
  ItemRecordSchema,
} from '../../packages/contracts/src/index.js';
import { Bucket, embeddedS3Config, mapLimit, startEmbeddedS3 } from '../../packages/storage/src/index.js';
import { fixturesDir } from '../../test/paths.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const SIZES = option('sizes', '1000,10000,100000').split(',').map(Number);
const STAGES = option('stages', 'import,dataset,features,list').split(',');
const REPLICAS_SIZE = Number(option('replicas-size', '10000'));
const DATA = args.includes('--data') ? option('data', '') : undefined;
const OUT = option(
  'out',
  join(import.meta.dirname, 'results', `${new Date().toISOString().slice(0, 10)}.txt`),
);
const SIDE = 16;
const CLIP = join(fixturesDir, 'tiny-clip-vision');

// sharp is a dependency of the media package, not of the repository root (so typed here by hand).
type Sharp = (
  input: Buffer,
  options?: { raw: { width: number; height: number; channels: 3 } },
) => { png(): { toBuffer(): Promise<Buffer> }; jpeg(): { toBuffer(): Promise<Buffer> } };
const sharp = createRequire(join(import.meta.dirname, '../../packages/media/package.json'))('sharp') as Sharp;

const lines: string[] = [];
const say = (line = '') => {
  console.log(line);
  lines.push(line);
};

// ---- the source ------------------------------------------------------------------------------------

/** A seeded 16x16 RGB noise PNG: every index gives different pixels (and an unrelated pHash). */
async function noisePng(seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(SIDE * SIDE * 3);
  let x = (seed + 1) * 2654435761;
  for (let i = 0; i < pixels.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    pixels[i] = x & 0xff;
  }
  return sharp(pixels, { raw: { width: SIDE, height: SIDE, channels: 3 } })
    .png()
    .toBuffer();
}

/** N images in folders of 1000 plus `items.jsonl`, reused when an earlier run left them complete. */
async function generatedSource(n: number): Promise<string> {
  const dir = join(tmpdir(), `mmit-bench-scale-${SIDE}px-${n}`);
  const manifest = join(dir, 'items.jsonl');
  if (!args.includes('--fresh-images') && (await readFile(manifest).catch(() => null))) return dir;
  await rm(dir, { recursive: true, force: true });
  const started = performance.now();
  const records: string[] = [];
  for (let folder = 0; folder * 1000 < n; folder++) {
    await mkdir(join(dir, 'img', String(folder)), { recursive: true });
    const batch: Promise<void>[] = [];
    for (let i = folder * 1000; i < Math.min(n, (folder + 1) * 1000); i++) {
      const path = `img/${folder}/${i}.png`;
      batch.push(noisePng(i).then((png) => writeFile(join(dir, path), png)));
      records.push(JSON.stringify({ image: path, caption: `noise pattern number ${i}` }));
    }
    await Promise.all(batch);
  }
  // The manifest last, under a temporary name: its presence says the folder is complete.
  await writeFile(`${manifest}.part`, `${records.join('\n')}\n`);
  await rename(`${manifest}.part`, manifest);
  console.log(`generated ${n} images in ${dir} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return dir;
}

// ---- measuring -------------------------------------------------------------------------------------

/** CPU seconds (user + system) and peak RSS of a process, from /proc. */
async function processStats(pid: number): Promise<{ cpuSec: number; peakRssMb: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return { cpuSec: ticks / 100, peakRssMb: hwm / 1024 };
}

const benchCpuSec = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

async function api<T>(url: string, init?: { method?: string; body?: unknown }): Promise<T> {
  const res = await fetch(url, {
    method: init?.method ?? 'GET',
    ...(init?.body !== undefined
      ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) }
      : {}),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${JSON.stringify(body)}`);
  return body as T;
}

interface JobRecord {
  id: string;
  status: string;
  result?: Record<string, unknown>;
  error?: unknown;
}

async function waitForJob(url: string): Promise<JobRecord> {
  for (;;) {
    const record = await api<JobRecord>(url);
    if (!['queued', 'running'].includes(record.status)) {
      if (record.status !== 'succeeded')
        throw new Error(`job ${url} ended ${record.status}: ${JSON.stringify(record)}`);
      return record;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface StageResult {
  wallSec: number;
  cpuSec: number;
  s3CpuSec: number;
  peakRssMb: number;
}

/** Runs `work` and measures it against the pid that does it (read after, when work restarts it). */
async function measured(pid: () => number, work: () => Promise<void>): Promise<StageResult> {
  const before = await processStats(pid());
  const s3Before = benchCpuSec();
  const started = performance.now();
  await work();
  const wallSec = (performance.now() - started) / 1000;
  const after = await processStats(pid());
  return {
    wallSec,
    cpuSec: after.cpuSec - before.cpuSec,
    s3CpuSec: benchCpuSec() - s3Before,
    peakRssMb: after.peakRssMb,
  };
}

/** Sums of the job engine's counters on one replica's /metrics. */
async function engineCounters(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = (name: string, filter = '') =>
    text
      .split('\n')
      .filter((l) => l.startsWith(name) && l.includes(filter))
      .reduce((total, l) => total + Number(l.split(' ').at(-1)), 0);
  return {
    claimsWon: sum('mmit_job_claims_total{', 'result="won"'),
    claimsLost: sum('mmit_job_claims_total{', 'result="refused"'),
    renewals: sum('mmit_job_lease_renewals_total{'),
    progressWrites: sum('mmit_job_progress_writes_total{'),
    waitSum: sum('mmit_job_unit_wait_seconds_sum'),
    waitCount: sum('mmit_job_unit_wait_seconds_count'),
  };
}
type EngineCounters = Awaited<ReturnType<typeof engineCounters>>;

// ---- one size --------------------------------------------------------------------------------------

const table = new Map<number, Map<string, StageResult>>();

function servicesEnv(source: string, s3: { endpoint: string; accessKey: string; secretKey: string }) {
  return {
    MMIT_S3_ENDPOINT: s3.endpoint,
    MMIT_S3_ACCESS_KEY: s3.accessKey,
    MMIT_S3_SECRET_KEY: s3.secretKey,
    MMIT_INGEST_IMPORT_ROOTS: source,
    MMIT_FEATURES_MODEL_ROOTS: fixturesDir,
    MMIT_LOG_LEVEL: 'warn',
  };
}

async function runSize(n: number): Promise<void> {
  const source = await generatedSource(n);
  // With --data, the imported corpus is kept (and reused by a later run that leaves out `import`).
  const work = DATA ? join(DATA, String(n)) : await mkdtemp(join(tmpdir(), 'mmit-bench-scale-'));
  const kept = join(work, 'corpus.json');
  const reuse = !STAGES.includes('import') && (await readFile(kept).catch(() => null)) !== null;
  if (!reuse) await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const s3 = await startEmbeddedS3({ dir: join(work, 's3'), port: 0 });
  const bucket = new Bucket(embeddedS3Config(s3));
  await bucket.ensure();
  if (!reuse && !STAGES.includes('import')) {
    await seedCorpus(bucket, source, n, STAGES.includes('features'));
    await writeFile(kept, JSON.stringify({ id: SEEDED_CORPUS }));
  }
  const results = new Map<string, StageResult>();
  table.set(n, results);
  let launched: Launched | undefined;
  try {
    launched = await launch({
      services: ['ingest', 'synth', 'features'],
      gatewayPort: 0,
      freePorts: true,
      env: servicesEnv(source, s3),
    });
    const running = launched;
    const pidOf = (service: string) => () => running.replicas(service)[0].pid!;
    const url = (service: string) => running.replicas(service)[0].url;
    const corpus = STAGES.includes('import')
      ? await api<{ id: string }>(`${running.gatewayUrl}/v1/corpora`, {
          method: 'POST',
          body: { name: `scale-${n}`, options: { thumbnailSide: 0 } },
        })
      : (JSON.parse(await readFile(kept, 'utf8')) as { id: string });
    const stage = async (name: string, pid: () => number, work: () => Promise<void>) => {
      if (!STAGES.includes(name)) return;
      const result = await measured(pid, work);
      results.set(name, result);
      say(
        `  ${n} ${name.padEnd(8)} ${((result.wallSec * 1000) / n).toFixed(3)} ms/item wall, ${((result.cpuSec * 1000) / n).toFixed(3)} CPU-ms/item, peak RSS ${result.peakRssMb.toFixed(0)} MB (${result.wallSec.toFixed(1)} s; S3 server + gateway ${((result.s3CpuSec * 1000) / n).toFixed(3)} CPU-ms/item)`,
      );
    };

    await stage('import', pidOf('ingest'), async () => {
      const job = await api<JobRecord>(`${url('ingest')}/v1/corpora/${corpus.id}/imports`, {
        method: 'POST',
        body: { format: 'jsonl', source: { type: 'path', path: source } },
      });
      const done = await waitForJob(`${url('ingest')}/v1/jobs/${job.id}`);
      if (done.result?.accepted !== n) throw new Error(`import accepted ${done.result?.accepted} of ${n}`);
      await writeFile(kept, JSON.stringify(corpus));
    });
    await stage('dataset', pidOf('synth'), async () => {
      const created = await api<{ job: JobRecord }>(`${url('synth')}/v1/datasets`, {
        method: 'POST',
        body: { corpusId: corpus.id, recipe: { kinds: { brief: {} }, generator: 'template' } },
      });
      await waitForJob(`${url('synth')}/v1/datasets/jobs/${created.job.id}`);
    });
    // Features from an empty index every time (a kept corpus may have them from an earlier run).
    if (STAGES.includes('features')) await bucket.deletePrefix('features/');
    await stage('features', pidOf('features'), async () => {
      await featuresJob(url('features'), corpus.id, n);
    });
    if (STAGES.includes('list')) await running.restart('ingest', 0);
    await stage('list', pidOf('ingest'), async () => {
      let cursor: string | null = null;
      let count = 0;
      do {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const page: { items: unknown[]; nextCursor: string | null } = await api(
          `${running.gatewayUrl}/v1/corpora/${corpus.id}/items?limit=1000${query}`,
        );
        count += page.items.length;
        cursor = page.nextCursor;
      } while (cursor);
      if (count !== n) throw new Error(`listed ${count} items of ${n}`);
    });
    say(
      `  ${n} bench process (S3 server + gateway): peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB so far`,
    );

    if (n === REPLICAS_SIZE && STAGES.includes('features')) {
      await running.stop();
      launched = undefined;
      await replicaComparison(n, corpus.id, source, s3, bucket);
    }
  } finally {
    await launched?.stop();
    await s3.stop().catch(() => undefined);
    if (!DATA) await rm(work, { recursive: true, force: true });
  }
}

const SEEDED_CORPUS = 'c_0000000000SEEDEDC0RPVS';

/**
 * Without the import stage (and no kept corpus), the corpus is written straight into the bucket as
 * an import would leave it: records in parts of 250, the manifest, and (for features) each item's
 * normalized JPEG. For sizes whose import would not fit the time at hand: the other steps read only
 * these. Not measured, and printed as seeded.
 */
async function seedCorpus(bucket: Bucket, source: string, n: number, withMedia: boolean): Promise<void> {
  const started = performance.now();
  const at = new Date().toISOString();
  const parts: { part: string; items: number }[] = [];
  for (let from = 0; from < n; from += 250) {
    const records = await mapLimit(
      Array.from({ length: Math.min(250, n - from) }, (_, k) => from + k),
      8,
      async (i) => {
        const path = `img/${Math.floor(i / 1000)}/${i}.png`;
        const png = await readFile(join(source, path));
        // Without features nothing reads the media: the source bytes stand in for the JPEG.
        const jpeg = withMedia ? await sharp(png).jpeg().toBuffer() : png;
        const sha = createHash('sha256').update(jpeg).digest('hex');
        const key = `media/sha256/${sha.slice(0, 2)}/${sha}.jpg`;
        if (withMedia) await bucket.putBuffer(key, jpeg, { contentType: 'image/jpeg' });
        return ItemRecordSchema.parse({
          id: `i_${String(i).padStart(22, '0')}`,
          corpusId: SEEDED_CORPUS,
          source: path,
          modality: 'image',
          captions: [`noise pattern number ${i}`],
          status: 'accepted',
          media: { sha256: sha, key, bytes: jpeg.length },
          image: {
            width: SIDE,
            height: SIDE,
            format: 'jpeg',
            originalWidth: SIDE,
            originalHeight: SIDE,
            originalFormat: 'png',
            phash: sha.slice(0, 16),
          },
          extra: { sourceSha256: sha },
          createdAt: at,
        });
      },
    );
    const part = `p-seeded-${String(parts.length).padStart(6, '0')}`;
    await bucket.putBuffer(
      `corpora/${SEEDED_CORPUS}/items/${part}.jsonl`,
      `${records.map((r) => JSON.stringify(r)).join('\n')}\n`,
    );
    parts.push({ part, items: records.length });
  }
  await bucket.putBuffer(
    `corpora/${SEEDED_CORPUS}/manifest.json`,
    JSON.stringify(
      CorpusManifestSchema.parse({
        id: SEEDED_CORPUS,
        name: `seeded-${n}`,
        description: '',
        createdAt: at,
        updatedAt: at,
        options: { maxSide: 1024, keepOriginals: false, nearDuplicateThreshold: 6, thumbnailSide: 0 },
        counts: { ...emptyCorpusCounts(), accepted: n, images: n },
        parts,
        version: parts.length,
      }),
    ),
  );
  say(
    `  ${n} import   seeded, not measured (${((performance.now() - started) / 1000).toFixed(0)} s to write)`,
  );
}

async function featuresJob(base: string, corpusId: string, n: number): Promise<JobRecord> {
  const job = await api<JobRecord>(`${base}/v1/features/jobs`, {
    method: 'POST',
    body: { corpusId, encoder: { checkpoint: CLIP } },
  });
  const done = await waitForJob(`${base}/v1/features/jobs/${job.id}`);
  if (done.result?.computed !== n) throw new Error(`features computed ${done.result?.computed} of ${n}`);
  return done;
}

/** The same features job on 1 and then 2 feature replicas, each from an empty feature index. */
async function replicaComparison(
  n: number,
  corpusId: string,
  source: string,
  s3: { endpoint: string; accessKey: string; secretKey: string },
  bucket: Bucket,
): Promise<void> {
  say(`\nfeatures job on ${n} items, 1 vs 2 feature replicas (tiny CLIP, batch 16 = one unit):`);
  say(
    '  replicas   wall s   items/s   claims/s   refused   claims per replica   renewals/s   progress writes/s   mean unit wait s',
  );
  for (const replicas of [1, 2]) {
    await bucket.deletePrefix('features/');
    const launched = await launch({
      services: ['features'],
      replicas: { features: replicas },
      gatewayPort: 0,
      freePorts: true,
      env: servicesEnv(source, s3),
    });
    try {
      const urls = launched.replicas('features').map((r) => r.url);
      const before = await Promise.all(urls.map(engineCounters));
      const started = performance.now();
      await featuresJob(urls[0], corpusId, n);
      const wallSec = (performance.now() - started) / 1000;
      const after = await Promise.all(urls.map(engineCounters));
      const delta = (key: keyof EngineCounters) =>
        after.reduce((sum, a, i) => sum + a[key] - before[i][key], 0);
      const perSec = (key: keyof EngineCounters) => (delta(key) / wallSec).toFixed(2);
      const perReplica = after.map((a, r) => a.claimsWon - before[r].claimsWon).join('+');
      say(
        `  ${String(replicas).padEnd(10)} ${wallSec.toFixed(1).padStart(6)}   ${(n / wallSec).toFixed(1).padStart(7)}   ${perSec('claimsWon').padStart(8)}   ${String(delta('claimsLost')).padStart(7)}   ${perReplica.padStart(17)}   ${perSec('renewals').padStart(10)}   ${perSec('progressWrites').padStart(17)}   ${(delta('waitSum') / Math.max(1, delta('waitCount'))).toFixed(2).padStart(16)}`,
      );
    } finally {
      await launched.stop();
    }
  }
}

// ---- main ------------------------------------------------------------------------------------------

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
say(`bench/scale ${new Date().toISOString()}: sizes ${SIZES.join(', ')}, stages ${STAGES.join(', ')}`);
say(`  ${cpus().length} cores (${cpus()[0].model}), load ${load()}; ${SIDE}x${SIDE} PNGs, no duplicates`);
for (const n of SIZES) await runSize(n);

const sizes = [...table.keys()];
if (sizes.length > 1) {
  const [small, large] = [sizes[0], sizes.at(-1)!];
  say(`\nper-item cost, ${large} vs ${small} items (flat = 1.0):`);
  say(
    '  step       wall ms/item by size                      CPU ms/item by size                       ratio wall  ratio CPU  peak RSS MB by size',
  );
  for (const name of STAGES) {
    const at = (size: number) => table.get(size)?.get(name);
    const cells = (pick: (r: StageResult, size: number) => string) =>
      sizes.map((size) => (at(size) ? pick(at(size)!, size) : '-').padStart(8)).join(' ');
    const ratio = (key: 'wallSec' | 'cpuSec') => {
      const [a, b] = [at(small), at(large)];
      return a && b ? (b[key] / large / (a[key] / small)).toFixed(2) : '-';
    };
    say(
      `  ${name.padEnd(9)}  ${cells((r, s) => ((r.wallSec * 1000) / s).toFixed(3)).padEnd(40)}  ${cells((r, s) => ((r.cpuSec * 1000) / s).toFixed(3)).padEnd(40)}  ${ratio('wallSec').padStart(10)}  ${ratio('cpuSec').padStart(9)}  ${cells((r) => r.peakRssMb.toFixed(0))}`,
    );
  }
}
say(`  load after: ${load()}`);
await mkdir(dirname(OUT), { recursive: true });
await writeFile(OUT, `${lines.join('\n')}\n`);
console.log(`\nwritten to ${OUT}`);
