// The bad-input table of issue 17: every service started by the real launcher (embedded S3 run
// here as its own server, so it can be stopped at the end), then each bad input of the table in
// cases.ts sent to the route it targets, and each answer classified:
//
//   refused               a clear 4xx (problem+json or OpenAI error) naming what was wrong
//   refused per item      the request succeeded and the bad item was rejected with a reason
//   mishandled            a 5xx, no answer in time, a silent cut, bad input accepted as if good,
//                         memory kept for good, or an answer that leaks server paths / the S3 endpoint
//   accepted then failed  202 for a job that could only fail
//
// It prints one line per case and the totals; `--json FILE` writes the rows too. Nothing here
// is a speed claim. Runs in a few minutes on 2 cores:
//
//   npx tsx bench/hardening/bad-inputs.ts [--only <substring>] [--json rows.json]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launch } from '../../infra/launch.js';
import { Bucket, embeddedS3Config, startEmbeddedS3 } from '../../packages/storage/src/index.js';
import { jpeg } from '../../services/ingest/src/testing/harness.js';
import { fixturesDir, repoRoot } from '../../test/paths.js';
import { type Case, type Context, cases, type Verdict } from './cases.js';

const { values: args } = parseArgs({
  options: { only: { type: 'string' }, json: { type: 'string' } },
});

const root = await mkdtemp(join(tmpdir(), 'mmit-bad-inputs-'));
const s3 = await startEmbeddedS3({ dir: join(root, 's3'), port: 0 });
const s3Config = embeddedS3Config(s3);
const bucket = new Bucket(s3Config);
await bucket.ensure();

console.log('starting the services (first start compiles them; up to a few minutes)...');
const launched = await launch({
  services: ['ingest', 'synth', 'features', 'trainer', 'serve'],
  gatewayPort: 0,
  freePorts: true,
  env: {
    MMIT_S3_ENDPOINT: s3Config.endpoint,
    MMIT_S3_ACCESS_KEY: s3Config.accessKey,
    MMIT_S3_SECRET_KEY: s3Config.secretKey,
    MMIT_INGEST_IMPORT_ROOTS: join(root, 'imports'),
    MMIT_LOG_LEVEL: 'warn',
    // Remote image URLs on, so the SSRF guard itself is what refuses private addresses.
    MMIT_SERVE_ALLOW_REMOTE_URLS: 'true',
    MMIT_SERVE_BASE_MODELS: `tiny=${join(fixturesDir, 'tiny-llama')}`,
    HF_HUB_OFFLINE: '1',
  },
});

const rows: { route: string; input: string; verdict: Verdict }[] = [];
try {
  const context: Context = {
    gateway: launched.gatewayUrl,
    services: launched.services,
    pids: launched.pids,
    root,
    bucket,
    s3Endpoint: s3Config.endpoint,
    // Anything a refusal may not show a caller: where the server keeps things.
    secrets: [new URL(s3Config.endpoint).host, root, repoRoot, fixturesDir],
    stopS3: () => s3.stop(),
    ...(await fixturesFor(launched.gatewayUrl)),
  };
  const selected = cases.filter(
    (c: Case) => !args.only || `${c.route} ${c.input}`.toLowerCase().includes(args.only.toLowerCase()),
  );
  for (const c of selected) {
    let verdict: Verdict;
    try {
      verdict = await c.run(context);
    } catch (err) {
      verdict = { outcome: 'mishandled', note: `the check itself failed: ${(err as Error).message}` };
    }
    rows.push({ route: c.route, input: c.input, verdict });
    const mark = verdict.outcome.startsWith('refused') ? 'ok ' : 'BAD';
    console.log(`${mark} ${c.route.padEnd(34)} ${c.input.padEnd(58)} ${verdict.outcome}: ${verdict.note}`);
  }
} finally {
  await launched.stop();
  await s3.stop().catch(() => undefined);
  await rm(root, { recursive: true, force: true });
}

const count = (outcome: string) => rows.filter((r) => r.verdict.outcome === outcome).length;
console.log(
  `\n${rows.length} tried: ${count('refused')} refused, ${count('refused per item')} refused per item, ` +
    `${count('mishandled')} mishandled, ${count('accepted then failed')} accepted then failed`,
);
if (args.json) await writeFile(args.json, JSON.stringify(rows, null, 2));

/** A corpus with three captioned images and a ready dataset made from it, for the cases that need them. */
async function fixturesFor(gateway: string) {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${gateway}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`setup: POST ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const corpus = await post('/v1/corpora', { name: 'bad-inputs', options: { thumbnailSide: 0 } });
  const corpusId = corpus.id as string;
  const form = new FormData();
  for (let i = 0; i < 3; i++) {
    form.append('caption', `A red star at the top left and a blue circle number ${i}.`);
    form.append('file', new Blob([await jpeg(96, 96, i)]), `photo-${i}.jpg`);
  }
  const upload = await fetch(`${gateway}/v1/corpora/${corpusId}/items`, { method: 'POST', body: form });
  if (!upload.ok) throw new Error(`setup: upload: ${upload.status} ${await upload.text()}`);
  const created = await post('/v1/datasets', {
    corpusId,
    recipe: { kinds: { brief: {} }, split: { validation: 0 } },
  });
  const datasetId = (created.dataset as { id: string }).id;
  for (let i = 0; i < 600; i++) {
    const manifest = (await (await fetch(`${gateway}/v1/datasets/${datasetId}`)).json()) as {
      status: string;
    };
    if (manifest.status === 'ready') break;
    if (manifest.status === 'failed') throw new Error('setup: the dataset failed');
    await new Promise((r) => setTimeout(r, 200));
  }
  return { corpusId, datasetId, image: await jpeg(96, 96, 7) };
}
