// The table of bad inputs bad-inputs.ts sends, route by route, each with the check that
// classifies its answer. Self-contained on purpose (it must run against older commits too), so
// the traversal spellings are listed here rather than imported from the contracts.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TRAVERSAL_SPELLINGS } from '../../packages/contracts/src/index.js';
import type { Bucket } from '../../packages/storage/src/index.js';
import { makeTar } from '../../services/ingest/src/testing/archives.js';
import { jpeg } from '../../services/ingest/src/testing/harness.js';
import { fixturesDir } from '../../test/paths.js';

export type Outcome = 'refused' | 'refused per item' | 'mishandled' | 'accepted then failed';

export interface Verdict {
  outcome: Outcome;
  note: string;
}

export interface Context {
  gateway: string;
  services: Record<string, string>;
  pids: Record<string, number>;
  root: string;
  bucket: Bucket;
  s3Endpoint: string;
  /** Strings no answer may show a caller unless the request itself held them. */
  secrets: string[];
  stopS3(): Promise<void>;
  corpusId: string;
  datasetId: string;
  image: Buffer;
}

export interface Case {
  route: string;
  input: string;
  run(ctx: Context): Promise<Verdict>;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const UPLOAD_ID = 'u_01JD5Z8Q2R3S4T5V6W7X8Y';
const CORPUS_ID = 'c_01JD5Z8Q2R3S4T5V6W7X8Y';
const DATASET_ID = 'd_01JD5Z8Q2R3S4T5V6W7X8Y';
const ENCODER_KEY = `clip-${'0'.repeat(32)}`;
const SHA = 'ab'.padEnd(64, '0');

// ---------------------------------------------------------------------------------------------
// Sending and classifying

interface Answer {
  status: number;
  text: string;
  body: Record<string, unknown> | undefined;
  timedOut: boolean;
}

interface Request {
  method?: string;
  json?: unknown;
  raw?: string | Buffer;
  contentType?: string;
  form?: FormData;
  timeoutMs?: number;
}

async function send(ctx: Context, path: string, request: Request = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  let body: string | Buffer | FormData | undefined;
  if (request.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(request.json);
  } else if (request.raw !== undefined) {
    headers['content-type'] = request.contentType ?? 'application/json';
    body = request.raw;
  } else if (request.form) body = request.form;
  const method = request.method ?? (body === undefined ? 'GET' : 'POST');
  try {
    const res = await fetch(`${ctx.gateway}${path}`, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(request.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, text, body: parsed, timedOut: false };
  } catch (err) {
    if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError')
      return { status: 0, text: '', body: undefined, timedOut: true };
    throw err;
  }
}

const refused = (note: string): Verdict => ({ outcome: 'refused', note });
const perItem = (note: string): Verdict => ({ outcome: 'refused per item', note });
const mishandled = (note: string): Verdict => ({ outcome: 'mishandled', note });
const failedLater = (note: string): Verdict => ({ outcome: 'accepted then failed', note });

function detailOf(a: Answer): string {
  const error = a.body?.error as { message?: string; code?: string } | undefined;
  const detail = (a.body?.detail as string | undefined) ?? error?.message ?? a.text;
  const code = (a.body?.code as string | undefined) ?? error?.code ?? '';
  return `${code ? `${code}: ` : ''}${String(detail).replace(/\s+/g, ' ').slice(0, 140)}`;
}

/** A secret the answer shows that the request did not contain. */
function leakIn(ctx: Context, text: string, sent: string): string | undefined {
  return ctx.secrets.find((s) => text.includes(s) && !sent.includes(s));
}

interface JobRef {
  path: string;
  /** Where the terminal status and error are in the polled body. */
  read(body: Record<string, unknown>): { status: string; error?: string };
}

const jobRecord =
  (base: string) =>
  (body: Record<string, unknown>): JobRef | undefined => {
    const id = (body.job as { id?: string } | undefined)?.id ?? (body.id as string | undefined);
    if (!id) return undefined;
    return {
      path: `${base}/${id}`,
      read: (b) => ({
        status: String(b.status),
        error: (b.error as { detail?: string } | undefined)?.detail,
      }),
    };
  };

const JOBS = {
  ingest: jobRecord('/v1/jobs'),
  synth: jobRecord('/v1/datasets/jobs'),
  features: jobRecord('/v1/features/jobs'),
  trainer: jobRecord('/v1/runs'),
};

async function follow(ctx: Context, job: JobRef, timeoutMs = 90_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const a = await send(ctx, job.path);
    const { status } = job.read(a.body ?? {});
    if (['succeeded', 'failed', 'cancelled'].includes(status)) return a.body ?? {};
    if (Date.now() > deadline) return { ...(a.body ?? {}), status: 'still running' };
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The usual verdict: a clear 4xx is `refused`; a 202 is followed to the end of its job (failed:
 * `accepted then failed`); everything else, and any answer that shows a server secret, is mishandled.
 */
async function classify(
  ctx: Context,
  a: Answer,
  sent: unknown,
  jobOf?: (body: Record<string, unknown>) => JobRef | undefined,
): Promise<Verdict> {
  const sentText = typeof sent === 'string' ? sent : JSON.stringify(sent ?? '');
  if (a.timedOut) return mishandled('no answer in 30 s');
  const leak = leakIn(ctx, a.text, sentText);
  if (a.status >= 500) return mishandled(`${a.status} ${detailOf(a)}`);
  if (a.status >= 400) {
    if (leak) return mishandled(`${a.status}, but the answer shows the server's ${leak}`);
    return refused(`${a.status} ${detailOf(a)}`);
  }
  const job = a.status === 202 && a.body && jobOf ? jobOf(a.body) : undefined;
  if (!job) return mishandled(`accepted (${a.status})`);
  const record = await follow(ctx, job);
  const { status, error } = job.read(record);
  const shown = leakIn(ctx, JSON.stringify(record), sentText);
  if (status === 'failed')
    return failedLater(`job failed: ${(error ?? '').slice(0, 120)}${shown ? ` (and shows ${shown})` : ''}`);
  return mishandled(`accepted; the job ${status}`);
}

const expectRefusal =
  (path: string, request: Request, jobOf?: (body: Record<string, unknown>) => JobRef | undefined) =>
  async (ctx: Context) =>
    classify(ctx, await send(ctx, path, request), request.json ?? request.raw ?? path, jobOf);

function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

// ---------------------------------------------------------------------------------------------
// Ingest: uploads

interface Outcome0 {
  status: string;
  itemId?: string;
  error?: { type: string; detail: string };
}

/** Uploads one file with form fields before it; the verdict on the file's outcome. */
async function uploadCase(
  ctx: Context,
  fields: [string, string][],
  check: (outcome: Outcome0, ctx: Context, corpusId: string) => Promise<Verdict>,
  file: Buffer = ctx.image,
): Promise<Verdict> {
  const corpus = await send(ctx, '/v1/corpora', {
    json: { name: 'upload case', options: { thumbnailSide: 0 } },
  });
  const corpusId = corpus.body?.id as string;
  const form = new FormData();
  for (const [name, value] of fields) form.append(name, value);
  form.append('file', new Blob([file]), 'photo.jpg');
  const a = await send(ctx, `/v1/corpora/${corpusId}/items`, { form });
  if (a.status !== 200) return classify(ctx, a, fields);
  const outcome = ((a.body?.outcomes ?? []) as Outcome0[])[0];
  if (!outcome) return classify(ctx, a, fields);
  if (outcome.status === 'rejected')
    return perItem(`${outcome.error?.type}: ${outcome.error?.detail.slice(0, 120)}`);
  return check(outcome, ctx, corpusId);
}

async function storedCaptions(ctx: Context, corpusId: string): Promise<string[]> {
  const a = await send(ctx, `/v1/corpora/${corpusId}/items`);
  const items = (a.body?.items as { captions: string[] }[]) ?? [];
  return items.flatMap((i) => i.captions);
}

const captionKept =
  (sentChars: number, sentCount: number) => async (_o: Outcome0, ctx: Context, corpusId: string) => {
    const captions = await storedCaptions(ctx, corpusId);
    const chars = captions.reduce((n, c) => n + c.length, 0);
    if (chars < sentChars * sentCount)
      return mishandled(
        `accepted, caption silently cut: ${sentChars * sentCount} characters sent, ${chars} stored`,
      );
    return mishandled(`accepted ${captions.length} caption(s), ${chars} characters in all: no limit`);
  };

const acceptedWithout = async (_o: Outcome0, ctx: Context, corpusId: string) => {
  const captions = await storedCaptions(ctx, corpusId);
  return mishandled(`the bad field was ignored: the file was accepted with ${captions.length} captions`);
};

function rssOf(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then(
    (s) => Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024,
  );
}

// ---------------------------------------------------------------------------------------------
// Ingest: imports

async function countUploads(ctx: Context): Promise<number> {
  let n = 0;
  for await (const _ of ctx.bucket.list('uploads/')) n++;
  return n;
}

/** A multipart import that should be refused: it also must not leave the archive behind. */
function archiveRefusal(fields: [string, string][], archive: Buffer): (ctx: Context) => Promise<Verdict> {
  return async (ctx) => {
    const before = await countUploads(ctx);
    const form = new FormData();
    for (const [name, value] of fields) form.append(name, value);
    form.append('archive', new Blob([archive]), 'archive.tar');
    const a = await send(ctx, `/v1/corpora/${ctx.corpusId}/imports`, { form });
    const verdict = await classify(ctx, a, fields, JOBS.ingest);
    const left = (await countUploads(ctx)) - before;
    if (verdict.outcome === 'refused' && left > 0)
      return mishandled(`${verdict.note}; but the archive stays in uploads/`);
    return verdict;
  };
}

/** A multipart import whose bad entries should each be rejected with `code`. */
function archivePerItem(format: string, archive: Buffer, code: string): (ctx: Context) => Promise<Verdict> {
  return async (ctx) => {
    // A corpus of its own: one case's damage must not decide the next one's verdict.
    const corpus = await send(ctx, '/v1/corpora', {
      json: { name: `import ${format}`, options: { thumbnailSide: 0 } },
    });
    const form = new FormData();
    form.append('format', format);
    form.append('archive', new Blob([archive]), 'archive.tar');
    const a = await send(ctx, `/v1/corpora/${corpus.body?.id}/imports`, { form });
    if (a.status !== 202) return classify(ctx, a, format, JOBS.ingest);
    const job = JOBS.ingest(a.body!)!;
    const record = await follow(ctx, job);
    if (record.status !== 'succeeded') return classify(ctx, a, format, JOBS.ingest);
    const summary = record.result as { accepted: number; rejectedByReason: Record<string, number> };
    if (summary.rejectedByReason[code]) return perItem(`${code} x${summary.rejectedByReason[code]}`);
    return mishandled(
      `imported: ${summary.accepted} accepted, rejected ${JSON.stringify(summary.rejectedByReason)}`,
    );
  };
}

async function tarOf(entries: [string, Buffer | string][]): Promise<Buffer> {
  return makeTar(entries.map(([name, data]) => ({ name, data })));
}

// ---------------------------------------------------------------------------------------------
// The table

const corpusCases: Case[] = [
  {
    route: 'POST /v1/corpora',
    input: 'body is not JSON',
    run: expectRefusal('/v1/corpora', { raw: '{"name": ' }),
  },
  {
    route: 'POST /v1/corpora',
    input: 'text/plain body',
    run: expectRefusal('/v1/corpora', { raw: 'name=x', contentType: 'text/plain' }),
  },
  { route: 'POST /v1/corpora', input: 'no name', run: expectRefusal('/v1/corpora', { json: {} }) },
  {
    route: 'POST /v1/corpora',
    input: 'name of 201 characters',
    run: expectRefusal('/v1/corpora', { json: { name: 'x'.repeat(201) } }),
  },
  {
    route: 'POST /v1/corpora',
    input: 'name is a number',
    run: expectRefusal('/v1/corpora', { json: { name: 7 } }),
  },
  {
    route: 'POST /v1/corpora',
    input: 'options.maxSide 10^9',
    run: expectRefusal('/v1/corpora', { json: { name: 'x', options: { maxSide: 1e9 } } }),
  },
  {
    route: 'POST /v1/corpora',
    input: 'description of 10,001 characters',
    run: expectRefusal('/v1/corpora', { json: { name: 'x', description: 'x'.repeat(10_001) } }),
  },
  {
    route: 'POST /v1/corpora',
    input: 'JSON nested 100,000 deep',
    run: expectRefusal('/v1/corpora', { raw: `{"name":"x","options":${nested(100_000)}}` }),
  },
  {
    route: 'POST /v1/corpora',
    input: 'unknown field nested 1,000 deep',
    run: expectRefusal('/v1/corpora', { raw: `{"name":"x","extra":${nested(1_000)}}` }),
  },
  {
    route: 'POST /v1/corpora',
    input: 'body of 2 MB',
    run: expectRefusal('/v1/corpora', { json: { name: 'x', description: 'x'.repeat(2 * MiB) } }),
  },
  {
    route: 'GET /v1/corpora/:id',
    input: 'id ..%2F..%2Fetc%2Fpasswd',
    run: expectRefusal('/v1/corpora/..%2F..%2Fetc%2Fpasswd', {}),
  },
  {
    route: 'GET /v1/corpora/:id',
    input: 'unknown well-formed id',
    run: expectRefusal(`/v1/corpora/${CORPUS_ID}`, {}),
  },
  {
    route: 'GET /v1/corpora/:id',
    input: 'id of 1,000 characters',
    run: expectRefusal(`/v1/corpora/${'c'.repeat(1000)}`, {}),
  },
  { route: 'GET /v1/corpora', input: 'limit=-1', run: expectRefusal('/v1/corpora?limit=-1', {}) },
  { route: 'GET /v1/corpora', input: 'limit=10^9', run: expectRefusal('/v1/corpora?limit=1000000000', {}) },
  {
    route: 'GET /v1/corpora/:id/items',
    input: 'status=bogus',
    run: async (ctx) => classify(ctx, await send(ctx, `/v1/corpora/${ctx.corpusId}/items?status=bogus`), ''),
  },
  {
    route: 'GET /v1/corpora/:id/items',
    input: 'cursor of garbage',
    run: async (ctx) =>
      classify(ctx, await send(ctx, `/v1/corpora/${ctx.corpusId}/items?cursor=%00%ff..`), ''),
  },
];

const uploadCases: Case[] = [
  {
    route: 'POST /v1/corpora/:id/items',
    input: 'caption field of 2 MiB',
    run: (ctx) => uploadCase(ctx, [['caption', 'a'.repeat(2 * MiB)]], captionKept(2 * MiB, 1)),
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: 'caption field of 500 KB',
    run: (ctx) => uploadCase(ctx, [['caption', 'ab'.repeat(250 * KiB)]], captionKept(500 * KiB, 1)),
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: '200 caption fields for one file',
    run: (ctx) =>
      uploadCase(
        ctx,
        Array.from({ length: 200 }, (_, i) => ['caption', `caption ${i}`] as [string, string]),
        captionKept(0, 200),
      ),
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: 'captions JSON of 500 KB for one file',
    run: (ctx) =>
      uploadCase(
        ctx,
        [['captions', JSON.stringify({ 'photo.jpg': 'bc'.repeat(250 * KiB) })]],
        captionKept(500 * KiB, 1),
      ),
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: 'captions field of 2 MiB (valid JSON)',
    run: (ctx) =>
      uploadCase(
        ctx,
        [['captions', JSON.stringify({ 'photo.jpg': ['c'.repeat(2 * MiB)] })]],
        acceptedWithout,
      ),
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: 'captions field that is not JSON',
    run: (ctx) => uploadCase(ctx, [['captions', '{"photo.jpg": "a red star"']], acceptedWithout),
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: 'captions field that is a JSON array',
    run: (ctx) => uploadCase(ctx, [['captions', '["a red star"]']], acceptedWithout),
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: 'captions map with a number caption',
    run: (ctx) => uploadCase(ctx, [['captions', '{"photo.jpg": 7}']], acceptedWithout),
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: 'captions JSON nested 50,000 deep',
    run: (ctx) => uploadCase(ctx, [['captions', `{"photo.jpg":${nested(50_000)}}`]], acceptedWithout),
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: 'caption with invalid UTF-8',
    run: async (ctx) => {
      const corpus = await send(ctx, '/v1/corpora', { json: { name: 'utf8' } });
      const boundary = 'b0undary';
      const raw = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\nbad `),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(
          `\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
        ),
        ctx.image,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const a = await send(ctx, `/v1/corpora/${corpus.body?.id}/items`, {
        raw,
        contentType: `multipart/form-data; boundary=${boundary}`,
      });
      const outcome = (a.body?.outcomes as Outcome0[] | undefined)?.[0];
      if (a.status === 200 && outcome?.status === 'rejected') return perItem(`${outcome.error?.type}`);
      return classify(ctx, a, '');
    },
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: 'empty file',
    run: (ctx) => uploadCase(ctx, [], async () => mishandled('an empty file was accepted'), Buffer.alloc(0)),
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: 'file of random bytes',
    run: (ctx) =>
      uploadCase(
        ctx,
        [],
        async () => mishandled('junk accepted'),
        Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)),
      ),
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: 'no file parts',
    run: async (ctx) => {
      const form = new FormData();
      form.append('caption', 'lonely');
      return classify(ctx, await send(ctx, `/v1/corpora/${ctx.corpusId}/items`, { form }), '');
    },
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: 'JSON body instead of multipart',
    run: async (ctx) =>
      classify(ctx, await send(ctx, `/v1/corpora/${ctx.corpusId}/items`, { json: { file: [] } }), ''),
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: 'multipart with a broken boundary',
    run: async (ctx) =>
      classify(
        ctx,
        await send(ctx, `/v1/corpora/${ctx.corpusId}/items`, {
          raw: '--x\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\nabc',
          contentType: 'multipart/form-data; boundary=y',
        }),
        '',
      ),
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: 'unknown corpus',
    run: async (ctx) => {
      const form = new FormData();
      form.append('file', new Blob([ctx.image]), 'a.jpg');
      return classify(ctx, await send(ctx, `/v1/corpora/${CORPUS_ID}/items`, { form }), '');
    },
  },
  {
    route: 'POST /v1/corpora/:id/items',
    input: '3 x 100 MB junk files: memory kept after',
    run: async (ctx) => {
      const pid = ctx.pids.ingest;
      const before = await rssOf(pid);
      const junk = Buffer.alloc(100 * MiB, 0x5a);
      const form = new FormData();
      for (let i = 0; i < 3; i++) form.append('file', new Blob([junk]), `junk-${i}.jpg`);
      const a = await send(ctx, `/v1/corpora/${ctx.corpusId}/items`, { form, timeoutMs: 120_000 });
      await new Promise((r) => setTimeout(r, 3000));
      const grown = (await rssOf(pid)) - before;
      const outcomes = (a.body?.outcomes as Outcome0[] | undefined) ?? [];
      const rejected = outcomes.filter((o) => o.status === 'rejected').length;
      if (a.status !== 200 || rejected !== 3) return classify(ctx, a, '');
      if (grown > 150)
        return mishandled(`junk refused per item, but ingest keeps ${grown.toFixed(0)} MB more RSS`);
      return perItem(`3 rejected (${outcomes[0].error?.type}); RSS grew ${grown.toFixed(0)} MB`);
    },
  },
];

const importJson = (body: unknown) => async (ctx: Context) => {
  const json = typeof body === 'function' ? (body as (c: Context) => unknown)(ctx) : body;
  const a = await send(ctx, `/v1/corpora/${ctx.corpusId}/imports`, { json });
  return classify(ctx, a, json, JOBS.ingest);
};

const importCases: Case[] = [
  ...TRAVERSAL_SPELLINGS.map(
    (spelling): Case => ({
      route: 'POST /v1/corpora/:id/imports',
      input: `source.key uploads/${JSON.stringify(spelling).slice(1, -1)}`,
      run: importJson({ format: 'tar', source: { type: 'upload', key: `uploads/${spelling}` } }),
    }),
  ),
  {
    route: 'POST /v1/corpora/:id/imports',
    input: 'source.key of a well-formed upload that does not exist',
    run: importJson({ format: 'tar', source: { type: 'upload', key: `uploads/${UPLOAD_ID}/photos.tar` } }),
  },
  {
    route: 'POST /v1/corpora/:id/imports',
    input: 'source.key outside uploads/ (corpora/...)',
    run: importJson({ format: 'tar', source: { type: 'upload', key: 'corpora/x/manifest.json' } }),
  },
  {
    route: 'POST /v1/corpora/:id/imports',
    input: 'source.path /etc (outside the roots)',
    run: importJson({ format: 'folder', source: { type: 'path', path: '/etc' } }),
  },
  {
    route: 'POST /v1/corpora/:id/imports',
    input: 'source.path <root>/../.. (climbs out)',
    run: importJson((ctx: Context) => ({
      format: 'folder',
      source: { type: 'path', path: join(ctx.root, 'imports', '..', '..') },
    })),
  },
  {
    route: 'POST /v1/corpora/:id/imports',
    input: 'source.path that does not exist inside the root',
    run: importJson((ctx: Context) => ({
      format: 'folder',
      source: { type: 'path', path: join(ctx.root, 'imports', 'nope') },
    })),
  },
  {
    route: 'POST /v1/corpora/:id/imports',
    input: 'format "parquet"',
    run: importJson((ctx: Context) => ({
      format: 'parquet',
      source: { type: 'path', path: join(ctx.root, 'imports') },
    })),
  },
  {
    route: 'POST /v1/corpora/:id/imports',
    input: 'options.mediaRoot ../../..',
    run: async (ctx) => {
      const folder = join(ctx.root, 'imports', 'jsonl');
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, 'a.jpg'), ctx.image);
      await writeFile(join(folder, 'm.jsonl'), '{"image": "b.jpg", "caption": "a star"}\n');
      return importJson({
        format: 'jsonl',
        source: { type: 'path', path: folder },
        options: { mediaRoot: '../../..' },
      })(ctx);
    },
  },
  {
    route: 'POST /v1/corpora/:id/imports',
    input: 'options.maxEntries 0',
    run: importJson((ctx: Context) => ({
      format: 'folder',
      source: { type: 'path', path: join(ctx.root, 'imports') },
      options: { maxEntries: 0 },
    })),
  },
  {
    route: 'POST /v1/corpora/:id/imports',
    input: 'JSON nested 100,000 deep',
    run: async (ctx) =>
      classify(
        ctx,
        await send(ctx, `/v1/corpora/${ctx.corpusId}/imports`, {
          raw: `{"format":"tar","options":${nested(100_000)}}`,
        }),
        '',
      ),
  },
  {
    route: 'POST /v1/corpora/:id/imports',
    input: 'unknown corpus',
    run: async (ctx) =>
      classify(
        ctx,
        await send(ctx, `/v1/corpora/${CORPUS_ID}/imports`, {
          json: { format: 'tar', source: { type: 'path', path: ctx.root } },
        }),
        '',
      ),
  },
  {
    route: 'POST /v1/corpora/:id/imports (multipart)',
    input: 'archive without a format field',
    run: async (ctx) => archiveRefusal([], await tarOf([['a.jpg', ctx.image]]))(ctx),
  },
  {
    route: 'POST /v1/corpora/:id/imports (multipart)',
    input: 'format "parquet"',
    run: async (ctx) => archiveRefusal([['format', 'parquet']], await tarOf([['a.jpg', ctx.image]]))(ctx),
  },
  {
    route: 'POST /v1/corpora/:id/imports (multipart)',
    input: 'options field that is not JSON',
    run: async (ctx) =>
      archiveRefusal(
        [
          ['format', 'tar'],
          ['options', '{maxEntries: 3'],
        ],
        await tarOf([['a.jpg', ctx.image]]),
      )(ctx),
  },
  {
    route: 'POST /v1/corpora/:id/imports (multipart)',
    input: 'archive that is neither tar nor zip',
    run: archiveRefusal([['format', 'tar']], Buffer.from('this is not an archive at all '.repeat(100))),
  },
  {
    route: 'POST /v1/corpora/:id/imports (multipart)',
    input: 'tar entries named ../../evil.jpg',
    run: async (ctx) =>
      archivePerItem('tar', await tarOf([['../../evil.jpg', ctx.image]]), 'unsafe_path')(ctx),
  },
  {
    route: 'POST /v1/corpora/:id/imports (multipart)',
    input: 'tar with a 10 MB caption sidecar',
    run: async (ctx) =>
      archivePerItem(
        'tar',
        await tarOf([
          ['a.jpg', ctx.image],
          ['a.txt', 'word '.repeat(2 * MiB)],
        ]),
        'payload_too_large',
      )(ctx),
  },
  {
    route: 'POST /v1/corpora/:id/imports (multipart)',
    input: 'tar with a 500-line caption sidecar',
    run: async (ctx) =>
      archivePerItem(
        'tar',
        await tarOf([
          ['b.jpg', await distinctJpeg(1)],
          ['b.txt', Array.from({ length: 500 }, (_, i) => `line ${i}`).join('\n')],
        ]),
        'payload_too_large',
      )(ctx),
  },
  {
    route: 'POST /v1/corpora/:id/imports (multipart)',
    input: 'jsonl with a 1 MB caption',
    run: async (ctx) =>
      archivePerItem(
        'jsonl',
        await tarOf([
          ['c.jpg', await distinctJpeg(2)],
          ['m.jsonl', `${JSON.stringify({ image: 'c.jpg', caption: 'd '.repeat(512 * KiB) })}\n`],
        ]),
        'payload_too_large',
      )(ctx),
  },
  {
    route: 'POST /v1/corpora/:id/imports (multipart)',
    input: 'jsonl line with metadata nested 5,000 deep',
    run: async (ctx) =>
      archivePerItem(
        'jsonl',
        await tarOf([
          ['e.jpg', await distinctJpeg(3)],
          ['m.jsonl', `{"image":"e.jpg","caption":"a star","meta":${nested(5_000)}}\n`],
        ]),
        'invalid_record',
      )(ctx),
  },
  {
    route: 'POST /v1/corpora/:id/imports (multipart)',
    input: 'LLaVA JSON with 1,000 assistant turns',
    run: async (ctx) => {
      const conversations = Array.from({ length: 1000 }, (_, i) => ({
        from: i % 2 ? 'gpt' : 'human',
        value: `turn ${i}`,
      }));
      return archivePerItem(
        'llava-json',
        await tarOf([
          ['f.jpg', await distinctJpeg(4)],
          ['data.json', JSON.stringify([{ id: 'x', image: 'f.jpg', conversations }])],
        ]),
        'payload_too_large',
      )(ctx);
    },
  },
  {
    route: 'POST /v1/corpora/:id/imports (multipart)',
    input: 'CSV with a 1 MB caption cell',
    run: async (ctx) =>
      archivePerItem(
        'csv',
        await tarOf([
          ['g.wav', wav()],
          ['m.csv', `file_name,caption_1\ng.wav,"${'e '.repeat(512 * KiB)}"\n`],
        ]),
        'payload_too_large',
      )(ctx),
  },
  {
    route: 'POST /v1/corpora/:id/imports (multipart)',
    input: 'COCO with a bbox of strings',
    run: async (ctx) =>
      archivePerItem(
        'coco',
        await tarOf([
          ['h.jpg', await distinctJpeg(5)],
          [
            'ann.json',
            JSON.stringify({
              images: [{ id: 1, file_name: 'h.jpg', width: 9, height: 9 }],
              annotations: [{ image_id: 1, bbox: ['a', 'b', 'c', 'd'] }],
            }),
          ],
        ]),
        'invalid_record',
      )(ctx),
  },
];

/** A distinct small JPEG per case (so one case's item is not another's duplicate). */
function distinctJpeg(seed: number): Promise<Buffer> {
  return jpeg(80, 80, 100 + seed);
}

/** 0.1 s of 16 kHz mono 16-bit silence with a tone, as a WAV file. */
function wav(): Buffer {
  const samples = 1600;
  const out = Buffer.alloc(44 + samples * 2);
  out.write('RIFF', 0);
  out.writeUInt32LE(36 + samples * 2, 4);
  out.write('WAVEfmt ', 8);
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(16_000, 24);
  out.writeUInt32LE(32_000, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36);
  out.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) out.writeInt16LE(Math.round(8000 * Math.sin(i / 5)), 44 + i * 2);
  return out;
}

const mediaAndJobCases: Case[] = [
  {
    route: 'GET /v1/media/thumb/:fan/:file',
    input: '..%2F..%2Fcorpora',
    run: expectRefusal('/v1/media/thumb/..%2F..%2Fcorpora/x.webp', {}),
  },
  {
    route: 'GET /v1/media/thumb/:fan/:file',
    input: 'fan that does not match the hash',
    run: expectRefusal(`/v1/media/thumb/cd/${SHA}.webp`, {}),
  },
  {
    route: 'GET /v1/media/thumb/:fan/:file',
    input: 'unknown thumbnail',
    run: expectRefusal(`/v1/media/thumb/ab/${SHA}.webp`, {}),
  },
  {
    route: 'GET /v1/jobs/:id',
    input: 'id ..%2F..%2Fcorpora',
    run: expectRefusal('/v1/jobs/..%2F..%2Fcorpora', {}),
  },
  {
    route: 'GET /v1/jobs/:id',
    input: 'unknown well-formed id',
    run: expectRefusal('/v1/jobs/j_01JD5Z8Q2R3S4T5V6W7X8Y', {}),
  },
  {
    route: 'POST /v1/jobs/:id/cancel',
    input: 'unknown well-formed id',
    run: expectRefusal('/v1/jobs/j_01JD5Z8Q2R3S4T5V6W7X8Y/cancel', { method: 'POST', json: {} }),
  },
];

const datasetBody = (ctx: Context, over: Record<string, unknown> = {}) => ({
  corpusId: ctx.corpusId,
  recipe: { kinds: { brief: {} } },
  ...over,
});

const postDataset = (over: (ctx: Context) => unknown) => async (ctx: Context) => {
  const json = over(ctx);
  return classify(ctx, await send(ctx, '/v1/datasets', { json }), json, JOBS.synth);
};

const synthCases: Case[] = [
  {
    route: 'POST /v1/datasets',
    input: 'unknown corpus',
    run: postDataset((ctx) => datasetBody(ctx, { corpusId: CORPUS_ID })),
  },
  {
    route: 'POST /v1/datasets',
    input: 'corpusId ../../etc',
    run: postDataset((ctx) => datasetBody(ctx, { corpusId: '../../etc' })),
  },
  {
    route: 'POST /v1/datasets',
    input: 'no kinds',
    run: postDataset((ctx) => datasetBody(ctx, { recipe: { kinds: {} } })),
  },
  {
    route: 'POST /v1/datasets',
    input: 'kind "essay"',
    run: postDataset((ctx) => datasetBody(ctx, { recipe: { kinds: { essay: {} } } })),
  },
  {
    route: 'POST /v1/datasets',
    input: 'generator llm with no LLM configured',
    run: postDataset((ctx) => datasetBody(ctx, { recipe: { kinds: { brief: {} }, generator: 'llm' } })),
  },
  {
    route: 'POST /v1/datasets',
    input: 'seed -1',
    run: postDataset((ctx) => datasetBody(ctx, { recipe: { kinds: { brief: {} }, seed: -1 } })),
  },
  {
    route: 'POST /v1/datasets',
    input: 'split.validation 0.9',
    run: postDataset((ctx) =>
      datasetBody(ctx, { recipe: { kinds: { brief: {} }, split: { validation: 0.9 } } }),
    ),
  },
  {
    route: 'POST /v1/datasets',
    input: 'name of 201 characters',
    run: postDataset((ctx) => datasetBody(ctx, { name: 'n'.repeat(201) })),
  },
  {
    route: 'POST /v1/datasets',
    input: '200,000 unsafe words (body over 1 MB)',
    run: postDataset((ctx) =>
      datasetBody(ctx, {
        recipe: {
          kinds: { brief: {} },
          filters: { unsafeWords: Array.from({ length: 200_000 }, (_, i) => `w${i}`) },
        },
      }),
    ),
  },
  {
    route: 'POST /v1/datasets',
    input: 'JSON nested 100,000 deep',
    run: async (ctx) =>
      classify(
        ctx,
        await send(ctx, '/v1/datasets', {
          raw: `{"corpusId":"${ctx.corpusId}","recipe":${nested(100_000)}}`,
        }),
        '',
      ),
  },
  {
    route: 'GET /v1/datasets/:id',
    input: 'id ..%2F..%2Fcorpora',
    run: expectRefusal('/v1/datasets/..%2F..%2Fcorpora', {}),
  },
  {
    route: 'GET /v1/datasets/:id',
    input: 'unknown well-formed id',
    run: expectRefusal(`/v1/datasets/${DATASET_ID}`, {}),
  },
  {
    route: 'GET /v1/datasets/:id/export',
    input: 'format=pdf',
    run: async (ctx) => classify(ctx, await send(ctx, `/v1/datasets/${ctx.datasetId}/export?format=pdf`), ''),
  },
  {
    route: 'GET /v1/datasets/:id/samples',
    input: 'kind=essay',
    run: async (ctx) =>
      classify(ctx, await send(ctx, `/v1/datasets/${ctx.datasetId}/samples?kind=essay`), ''),
  },
  {
    route: 'GET /v1/datasets/:id/outcomes',
    input: 'status=bogus',
    run: async (ctx) =>
      classify(ctx, await send(ctx, `/v1/datasets/${ctx.datasetId}/outcomes?status=bogus`), ''),
  },
];

const clip = () => join(fixturesDir, 'tiny-clip-vision');
const featureJob = (over: (ctx: Context) => Record<string, unknown>) => async (ctx: Context) => {
  const json = { corpusId: ctx.corpusId, encoder: { checkpoint: clip() }, ...over(ctx) };
  return classify(ctx, await send(ctx, '/v1/features/jobs', { json }), json, JOBS.features);
};

const featureCases: Case[] = [
  {
    route: 'POST /v1/features/jobs',
    input: 'unknown corpus',
    run: featureJob(() => ({ corpusId: CORPUS_ID })),
  },
  {
    route: 'POST /v1/features/jobs',
    input: 'unknown dataset',
    run: featureJob(() => ({ corpusId: undefined, datasetId: DATASET_ID })),
  },
  {
    route: 'POST /v1/features/jobs',
    input: 'both corpusId and datasetId',
    run: featureJob((ctx) => ({ datasetId: ctx.datasetId })),
  },
  {
    route: 'POST /v1/features/jobs',
    input: 'neither corpusId nor datasetId',
    run: featureJob(() => ({ corpusId: undefined })),
  },
  {
    route: 'POST /v1/features/jobs',
    input: 'checkpoint folder that does not exist',
    run: featureJob(() => ({ encoder: { checkpoint: '/nonexistent/checkpoint' } })),
  },
  {
    route: 'POST /v1/features/jobs',
    input: 'checkpoint ../../etc',
    run: featureJob(() => ({ encoder: { checkpoint: '../../etc' } })),
  },
  {
    route: 'POST /v1/features/jobs',
    input: 'checkpoint a server folder without config.json (/usr)',
    run: featureJob(() => ({ encoder: { checkpoint: '/usr' } })),
  },
  {
    route: 'POST /v1/features/jobs',
    input: 'checkpoint is a file (/etc/hostname)',
    run: featureJob(() => ({ encoder: { checkpoint: '/etc/hostname' } })),
  },
  {
    route: 'POST /v1/features/jobs',
    input: 'layer 99',
    run: featureJob(() => ({ encoder: { checkpoint: clip(), visionFeatureLayer: 99 } })),
  },
  {
    route: 'POST /v1/features/jobs',
    input: 'layer -99',
    run: featureJob(() => ({ encoder: { checkpoint: clip(), visionFeatureLayer: -99 } })),
  },
  {
    route: 'POST /v1/features/jobs',
    input: 'layers [-2, 40]',
    run: featureJob(() => ({ encoder: { checkpoint: clip(), visionFeatureLayer: [-2, 40] } })),
  },
  {
    route: 'POST /v1/features/jobs',
    input: 'processor folder that does not exist',
    run: featureJob(() => ({ encoder: { checkpoint: clip(), processor: '/nonexistent/processor' } })),
  },
  {
    route: 'POST /v1/features/jobs',
    input: 'checkpoint of an LM, not an encoder',
    run: featureJob(() => ({ encoder: { checkpoint: join(fixturesDir, 'tiny-llama') } })),
  },
  { route: 'POST /v1/features/jobs', input: 'batchSize 0', run: featureJob(() => ({ batchSize: 0 })) },
  { route: 'POST /v1/features/jobs', input: 'ep "tpu"', run: featureJob(() => ({ ep: 'tpu' })) },
  {
    route: 'POST /v1/features/jobs',
    input: 'JSON nested 100,000 deep',
    run: async (ctx) =>
      classify(ctx, await send(ctx, '/v1/features/jobs', { raw: `{"encoder":${nested(100_000)}}` }), ''),
  },
  {
    route: 'GET /v1/features/:encoderKey',
    input: 'key ..%2F..%2Fruns',
    run: expectRefusal('/v1/features/..%2F..%2Fruns', {}),
  },
  {
    route: 'GET /v1/features/:encoderKey',
    input: 'unknown well-formed key',
    run: expectRefusal(`/v1/features/${ENCODER_KEY}`, {}),
  },
  {
    route: 'GET /v1/features/:encoderKey/:sha256',
    input: 'sha256 ../../x',
    run: expectRefusal(`/v1/features/${ENCODER_KEY}/..%2F..%2Fx`, {}),
  },
];

const runBody = (ctx: Context, over: Record<string, unknown>) => ({
  datasetId: ctx.datasetId,
  encoder: { key: ENCODER_KEY },
  lm: { checkpoint: join(fixturesDir, 'tiny-llama') },
  steps: 1,
  batchSize: 2,
  ...over,
});

const postRun = (over: (ctx: Context) => Record<string, unknown>) => async (ctx: Context) => {
  const json = runBody(ctx, over(ctx));
  return classify(ctx, await send(ctx, '/v1/runs', { json, timeoutMs: 60_000 }), json, JOBS.trainer);
};

const trainerCases: Case[] = [
  { route: 'POST /v1/runs', input: 'unknown dataset', run: postRun(() => ({ datasetId: DATASET_ID })) },
  { route: 'POST /v1/runs', input: 'unknown encoder.key', run: postRun(() => ({})) },
  {
    route: 'POST /v1/runs',
    input: 'encoder.key ../../etc',
    run: postRun(() => ({ encoder: { key: '../../etc' } })),
  },
  {
    route: 'POST /v1/runs',
    input: 'lm.checkpoint that does not exist',
    run: postRun(() => ({ lm: { checkpoint: '/nonexistent/lm' } })),
  },
  {
    route: 'POST /v1/runs',
    input: 'lm.checkpoint a server folder without config.json (/usr)',
    run: postRun(() => ({ lm: { checkpoint: '/usr' } })),
  },
  {
    route: 'POST /v1/runs',
    input: 'encoder.spec checkpoint that does not exist',
    run: postRun(() => ({ encoder: { spec: { checkpoint: '/nonexistent/encoder' } } })),
  },
  {
    route: 'POST /v1/runs',
    input: 'encoder.spec layer 99',
    run: postRun(() => ({ encoder: { spec: { checkpoint: clip(), visionFeatureLayer: 99 } } })),
  },
  {
    route: 'POST /v1/runs',
    input: 'neither encoder.key nor encoder.spec',
    run: postRun(() => ({ encoder: {} })),
  },
  { route: 'POST /v1/runs', input: 'optimizer.lr -1', run: postRun(() => ({ optimizer: { lr: -1 } })) },
  { route: 'POST /v1/runs', input: 'batchSize 0', run: postRun(() => ({ batchSize: 0 })) },
  {
    route: 'POST /v1/runs',
    input: 'JSON nested 100,000 deep',
    run: async (ctx) => classify(ctx, await send(ctx, '/v1/runs', { raw: `{"lm":${nested(100_000)}}` }), ''),
  },
  {
    route: 'GET /v1/runs/:id',
    input: 'id ..%2F..%2Fcorpora',
    run: expectRefusal('/v1/runs/..%2F..%2Fcorpora', {}),
  },
  {
    route: 'POST /v1/runs/:id/resume',
    input: 'unknown well-formed id',
    run: expectRefusal('/v1/runs/r_01JD5Z8Q2R3S4T5V6W7X8Y/resume', { method: 'POST', json: {} }),
  },
];

const chat = (content: unknown, over: Record<string, unknown> = {}) => ({
  model: 'tiny',
  max_tokens: 2,
  messages: [{ role: 'user', content }],
  ...over,
});

const imageUrl = (url: string) =>
  chat([
    { type: 'image_url', image_url: { url } },
    { type: 'text', text: 'what?' },
  ]);

const postChat = (json: unknown, expectCode?: string) => async (ctx: Context) => {
  const a = await send(ctx, '/v1/chat/completions', { json });
  const verdict = await classify(ctx, a, json);
  const code = (a.body?.error as { code?: string } | undefined)?.code;
  if (verdict.outcome === 'refused' && expectCode && code !== expectCode)
    return mishandled(`${verdict.note} (the URL was tried: expected ${expectCode})`);
  return verdict;
};

const serveCases: Case[] = [
  {
    route: 'POST /v1/chat/completions',
    input: 'unknown model',
    run: postChat(chat('hi', { model: 'nope' })),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'body is not JSON',
    run: async (ctx) => classify(ctx, await send(ctx, '/v1/chat/completions', { raw: '{"model":' }), ''),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'no messages',
    run: postChat({ model: 'tiny', messages: [] }),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'max_tokens 10^9',
    run: postChat(chat('hi', { max_tokens: 1e9 })),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'content part of type video',
    run: postChat(chat([{ type: 'video', video: {} }])),
  },
  {
    route: 'POST /v1/chat/completions',
    input: '9 images (limit 8)',
    run: postChat(
      chat(
        Array.from({ length: 9 }, () => ({
          type: 'image_url',
          image_url: { url: 'data:image/png;base64,AAAA' },
        })),
      ),
    ),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'data: URI that is not base64',
    run: postChat(imageUrl('data:image/png;base64,@@@@')),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'image key media/../corpora/x',
    run: postChat(imageUrl('media/../corpora/x/manifest.json')),
  },
  ...['%2e%2e/corpora/x', '..%2fcorpora', 'sha256/ab/../../../runs/x', '\uff0e\uff0e/runs/x'].map(
    (spelling): Case => ({
      route: 'POST /v1/chat/completions',
      input: `image key media/${spelling}`,
      run: postChat(imageUrl(`media/${spelling}`)),
    }),
  ),
  {
    route: 'POST /v1/chat/completions',
    input: 'image s3://other-bucket/x',
    run: postChat(imageUrl('s3://other-bucket/media/x.jpg')),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'image http://127.0.0.1/',
    run: postChat(imageUrl('http://127.0.0.1:9/x.png'), 'url_refused'),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'image http://[::1]/',
    run: postChat(imageUrl('http://[::1]:9/x.png'), 'url_refused'),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'image http://[::ffff:127.0.0.1]/',
    run: postChat(imageUrl('http://[::ffff:127.0.0.1]:9/x.png'), 'url_refused'),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'image http://[64:ff9b::7f00:1]/ (NAT64)',
    run: postChat(imageUrl('http://[64:ff9b::7f00:1]:9/x.png'), 'url_refused'),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'image http://[::127.0.0.1]/ (IPv4-compatible)',
    run: postChat(imageUrl('http://[::7f00:1]:9/x.png'), 'url_refused'),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'image http://169.254.169.254/ (metadata)',
    run: postChat(imageUrl('http://169.254.169.254/latest/meta-data'), 'url_refused'),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'image http://0x7f000001/ (hex IPv4)',
    run: postChat(imageUrl('http://0x7f000001:9/x.png'), 'url_refused'),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'image file:///etc/passwd',
    run: postChat(imageUrl('file:///etc/passwd')),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'JSON nested 100,000 deep',
    run: async (ctx) =>
      classify(
        ctx,
        await send(ctx, '/v1/chat/completions', { raw: `{"model":"tiny","messages":${nested(100_000)}}` }),
        '',
      ),
  },
  {
    route: 'POST /v1/chat/completions',
    input: 'body of 25 MB',
    run: postChat(chat('x'.repeat(25 * MiB))),
  },
  {
    route: 'POST /v1/completions',
    input: 'prompt of 10,000 strings',
    run: async (ctx) => {
      const json = { model: 'tiny', prompt: Array.from({ length: 10_000 }, () => 'x'), max_tokens: 1 };
      return classify(ctx, await send(ctx, '/v1/completions', { json }), json);
    },
  },
  { route: 'GET /v1/models/:id', input: 'unknown model', run: expectRefusal('/v1/models/nope', {}) },
];

/** Run last: a caption that once pinned synth at 100% CPU for good. */
const hangCase: Case = {
  route: 'POST /v1/datasets',
  input: 'dataset over 2 items with 500 KB captions',
  run: async (ctx) => {
    const corpus = await send(ctx, '/v1/corpora', {
      json: { name: 'long captions', options: { thumbnailSide: 0 } },
    });
    const corpusId = corpus.body?.id as string;
    const form = new FormData();
    for (let i = 0; i < 2; i++) {
      form.append('caption', 'a'.repeat(500 * KiB));
      form.append('file', new Blob([await distinctJpeg(20 + i)]), `long-${i}.jpg`);
    }
    const upload = await send(ctx, `/v1/corpora/${corpusId}/items`, { form });
    const outcomes = (upload.body?.outcomes as Outcome0[] | undefined) ?? [];
    if (upload.status === 200 && outcomes.every((o) => o.status === 'rejected'))
      return perItem(`at upload: ${outcomes[0].error?.type}`);
    const created = await send(ctx, '/v1/datasets', {
      json: { corpusId, recipe: { kinds: { brief: {}, detailed: {}, conversation: {}, reasoning: {} } } },
    });
    if (created.status !== 202) return classify(ctx, created, '');
    const job = JOBS.synth(created.body!)!;
    const started = Date.now();
    let healthFailures = 0;
    for (;;) {
      const health = await fetch(`${ctx.services.synth}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (!health) healthFailures++;
      const record = await send(ctx, job.path, { timeoutMs: 5000 });
      const status = record.body?.status;
      if (status === 'succeeded') {
        const s = ((Date.now() - started) / 1000).toFixed(1);
        return healthFailures > 0
          ? mishandled(`finished in ${s} s, /healthz missed ${healthFailures} times`)
          : perItem(`finished in ${s} s, /healthz answered throughout`);
      }
      if (status === 'failed') return failedLater(`${detailOf(record)}`);
      if (Date.now() - started > 60_000)
        return mishandled(`still running after 60 s; /healthz missed ${healthFailures} times`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  },
};

/** After everything else: the store goes away, and /readyz must not tell a stranger where it was. */
const readinessCases: Case[] = ['ingest', 'synth', 'features', 'trainer', 'serve'].map((name, i) => ({
  route: `GET /readyz (${name}, store down)`,
  input: 'unauthenticated, S3 stopped',
  run: async (ctx) => {
    if (i === 0) await ctx.stopS3();
    const res = await fetch(`${ctx.services[name]}/readyz`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    const leak = leakIn(ctx, text, '');
    if (leak) return mishandled(`${res.status}, shows ${leak}: ${text.slice(0, 100)}`);
    if (res.status === 503) return refused(`503 without server details`);
    return mishandled(`${res.status} with the store down`);
  },
}));

export const cases: Case[] = [
  ...corpusCases,
  ...uploadCases,
  ...importCases,
  ...mediaAndJobCases,
  ...synthCases,
  ...featureCases,
  ...trainerCases,
  ...serveCases,
  hangCase,
  ...readinessCases,
];
