// The job runner against the real embedded S3 server.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type JobRecord, JobRecordSchema, keys, newId } from '@mmit/contracts';
import { Bucket, type EmbeddedS3, embeddedS3Config, startEmbeddedS3 } from '@mmit/storage';
import { pino } from 'pino';
import { z } from 'zod';
import { HttpError } from '../errors.js';
import { JobNotFoundError, JobRunner, UnknownJobKindError } from './runner.js';

let dir: string;
let s3: EmbeddedS3;
let bucket: Bucket;
const logger = pino({ level: 'silent' });
let serviceCount = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmit-jobs-'));
  s3 = await startEmbeddedS3({ dir });
  bucket = new Bucket(embeddedS3Config(s3, 'jobs-test'));
  await bucket.ensure();
});

after(async () => {
  await s3.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Each test gets its own service name, so job prefixes do not mix. */
function runner(options: { service?: string; concurrency?: number; progressIntervalMs?: number } = {}) {
  return new JobRunner({ bucket, logger, service: options.service ?? `svc${++serviceCount}`, ...options });
}

const Count = z.object({ n: z.number().int().nonnegative() });

function defineCount(r: JobRunner) {
  return r.define('count', {
    params: Count,
    async run({ params, progress }) {
      progress.setTotal(params.n);
      for (let i = 0; i < params.n; i++) progress.advance();
      return { counted: params.n };
    },
  });
}

/** A job kind that waits until released or aborted; tells when it has started. */
function gate() {
  let release!: () => void;
  let started!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  const startedP = new Promise<void>((r) => {
    started = r;
  });
  return {
    release,
    started: startedP,
    kind: {
      params: z.object({}),
      async run({ signal, progress }: { signal: AbortSignal; progress: { advance(n?: number): void } }) {
        progress.advance(3);
        started();
        await new Promise<void>((resolve, reject) => {
          released.then(resolve);
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
        return 'released';
      },
    },
  };
}

test('a submitted job runs, succeeds, and its record in the bucket holds result and progress', async () => {
  const r = defineCount(runner());
  const queued = await r.submit('count', { n: 5 });
  assert.equal(queued.status, 'queued');
  assert.match(queued.id, /^j_/);
  await r.idle();
  const stored = await bucket.getJson(keys.job(r.service, queued.id), JobRecordSchema);
  assert.equal(stored.status, 'succeeded');
  assert.deepEqual(stored.result, { counted: 5 });
  assert.equal(stored.progress.done, 5);
  assert.equal(stored.progress.total, 5);
  assert.equal(stored.progress.etaSec, 0);
  assert.ok(stored.startedAt && stored.finishedAt);
  assert.deepEqual(await r.get(queued.id), stored);
});

test('params are validated by the kind; unknown kinds and ids are named errors', async () => {
  const r = defineCount(runner());
  await assert.rejects(r.submit('count', { n: -1 }), z.ZodError);
  await assert.rejects(
    r.submit('nope', {}),
    (e: unknown) => e instanceof UnknownJobKindError && /known kinds: count/.test(e.message),
  );
  await assert.rejects(r.get(newId('job')), JobNotFoundError);
  await assert.rejects(r.get('../../etc'), JobNotFoundError);
});

test('a failing job stores a problem: the HttpError code, or the message of an unknown error', async () => {
  const r = runner()
    .define('http', {
      params: z.object({}),
      run: async () => {
        throw new HttpError('decode_failed', 'entry 3 is not a JPEG');
      },
    })
    .define('plain', {
      params: z.object({}),
      run: async () => {
        throw new Error('disk on fire');
      },
    });
  const a = await r.submit('http', {});
  const b = await r.submit('plain', {});
  await r.idle();
  const ra = await r.get(a.id);
  assert.equal(ra.status, 'failed');
  assert.equal(ra.error?.code, 'decode_failed');
  assert.equal(ra.error?.detail, 'entry 3 is not a JPEG');
  const rb = await r.get(b.id);
  assert.equal(rb.error?.code, 'internal');
  assert.equal(rb.error?.detail, 'disk on fire');
});

test('progress writes are throttled, and every write is observed in order ending with the final state', async () => {
  const r = runner({ progressIntervalMs: 40 });
  r.define('steady', {
    params: z.object({}),
    async run({ progress }) {
      progress.setTotal(2000);
      for (let i = 0; i < 20; i++) {
        for (let j = 0; j < 100; j++) progress.advance();
        await new Promise((res) => setTimeout(res, 10));
      }
      return null;
    },
  });
  const seen: JobRecord[] = [];
  r.onUpdate((rec) => seen.push(rec));
  await r.submit('steady', {});
  await r.idle();
  // 2000 advances over ~200+ ms at one write per 40 ms: a handful of writes, not thousands.
  assert.ok(seen.length >= 4 && seen.length <= 15, `writes: ${seen.length}`);
  assert.deepEqual(
    seen.map((s) => s.status).filter((s, i, all) => s !== all[i - 1]),
    ['queued', 'running', 'succeeded'],
  );
  const done = seen.map((s) => s.progress.done);
  assert.deepEqual(
    done,
    [...done].sort((x, y) => x - y),
    'progress never goes backwards',
  );
  assert.equal(done.at(-1), 2000);
  assert.ok(
    seen.some((s) => s.status === 'running' && s.progress.rate > 0),
    'running records carry a rate',
  );
});

test('jobs run at most `concurrency` at a time; a queued job can be cancelled before it starts', async () => {
  const g = gate();
  const r = runner({ concurrency: 1 }).define('gate', g.kind);
  const first = await r.submit('gate', {});
  const second = await r.submit('gate', {});
  await g.started;
  assert.equal((await r.get(first.id)).status, 'running');
  assert.equal((await r.get(second.id)).status, 'queued');
  const cancelled = await r.cancel(second.id);
  assert.equal(cancelled.status, 'cancelled');
  g.release();
  await r.idle();
  assert.equal((await r.get(first.id)).status, 'succeeded');
  assert.equal((await r.get(second.id)).status, 'cancelled');
  assert.equal((await r.get(second.id)).startedAt, undefined, 'the cancelled job never started');
});

test('cancelling a running job aborts its signal and stores cancelled', async () => {
  const g = gate();
  const r = runner().define('gate', g.kind);
  const job = await r.submit('gate', {});
  await g.started;
  await r.cancel(job.id);
  await r.idle();
  const rec = await r.get(job.id);
  assert.equal(rec.status, 'cancelled');
  assert.equal(rec.cancelRequested, true);
  assert.equal((await r.cancel(job.id)).status, 'cancelled', 'cancelling again changes nothing');
});

test('a job interrupted by stop() is resumed by the next runner, as attempt 2, seeing the last progress', async () => {
  const service = `resume${++serviceCount}`;
  const g = gate();
  const first = runner({ service }).define('work', g.kind);
  const job = await first.submit('work', {});
  await g.started;
  await first.stop();
  const left = await bucket.getJson(keys.job(service, job.id), JobRecordSchema);
  assert.equal(left.status, 'queued');
  assert.equal(left.progress.done, 3);

  const seen: { attempt: number; previousDone: number }[] = [];
  const second = runner({ service }).define('work', {
    params: z.object({}),
    async run({ attempt, previous, progress }) {
      seen.push({ attempt, previousDone: previous.done });
      progress.advance(2);
      return 'finished';
    },
  });
  assert.deepEqual(await second.resumePending(), [job.id]);
  await second.idle();
  assert.deepEqual(seen, [{ attempt: 2, previousDone: 3 }]);
  const rec = await second.get(job.id);
  assert.equal(rec.status, 'succeeded');
  assert.equal(rec.result, 'finished');
  assert.equal(rec.progress.done, 5, 'progress continues from where the last attempt left it');
  assert.deepEqual(await second.resumePending(), [], 'finished jobs are not picked up again');
});

test('resumePending picks up a job a crashed process left running, fails unknown kinds clearly, and keeps cancelled ones cancelled', async () => {
  const service = `crash${++serviceCount}`;
  const at = new Date().toISOString();
  const base = {
    service,
    status: 'running' as const,
    params: { n: 2 },
    createdAt: at,
    updatedAt: at,
    startedAt: at,
  };
  const crashed: JobRecord = JobRecordSchema.parse({
    ...base,
    id: newId('job'),
    kind: 'count',
    attempt: 1,
    progress: { done: 1, total: 2, rate: 0, etaSec: null },
  });
  const orphan: JobRecord = JobRecordSchema.parse({
    ...base,
    id: newId('job'),
    kind: 'retired-kind',
    attempt: 1,
    progress: { done: 0, total: null, rate: 0, etaSec: null },
  });
  // Cancelled while running, then the process ended before it stored the cancellation.
  const cancelled: JobRecord = JobRecordSchema.parse({
    ...base,
    id: newId('job'),
    kind: 'count',
    attempt: 1,
    cancelRequested: true,
    progress: { done: 1, total: 2, rate: 0, etaSec: null },
  });
  await bucket.putJson(keys.job(service, crashed.id), crashed);
  await bucket.putJson(keys.job(service, orphan.id), orphan);
  await bucket.putJson(keys.job(service, cancelled.id), cancelled);
  const r = defineCount(runner({ service }));
  assert.deepEqual(await r.resumePending(), [crashed.id]);
  const stillCancelled = await r.get(cancelled.id);
  assert.equal(stillCancelled.status, 'cancelled');
  assert.ok(stillCancelled.finishedAt);
  await r.idle();
  const rec = await r.get(crashed.id);
  assert.equal(rec.status, 'succeeded');
  assert.equal(rec.attempt, 2);
  const failed = await r.get(orphan.id);
  assert.equal(failed.status, 'failed');
  assert.match(failed.error?.detail ?? '', /unknown job kind "retired-kind"; known kinds: count/);
});

test('list pages through jobs in creation order', async () => {
  const r = defineCount(runner());
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await r.submit('count', { n: 0 })).id);
  await r.idle();
  const p1 = await r.list({ limit: 2 });
  assert.deepEqual(
    p1.items.map((j) => j.id),
    ids.slice(0, 2),
  );
  const p2 = await r.list({ limit: 2, cursor: p1.nextCursor! });
  const p3 = await r.list({ limit: 2, cursor: p2.nextCursor! });
  assert.deepEqual(
    [...p2.items, ...p3.items].map((j) => j.id),
    ids.slice(2),
  );
  assert.equal(p3.nextCursor, null);
});

test('watch follows a job run by another process through the bucket', async () => {
  const service = `watch${++serviceCount}`;
  const g = gate();
  const worker = runner({ service, progressIntervalMs: 10 }).define('gate', g.kind);
  const observer = runner({ service });
  const job = await worker.submit('gate', {});
  const stop = new AbortController();
  const statuses: string[] = [];
  const following = (async () => {
    for await (const rec of observer.watch(job.id, stop.signal, 20)) statuses.push(rec.status);
  })();
  await g.started;
  // The job holds in `running` until released: the observer must see that state through the
  // bucket (however slow the machine), then the end.
  const deadline = Date.now() + 10_000;
  while (!statuses.includes('running') && Date.now() < deadline)
    await new Promise((res) => setTimeout(res, 20));
  g.release();
  await following;
  assert.equal(statuses.at(-1), 'succeeded');
  assert.ok(statuses.includes('running'), `seen: ${statuses.join(',')}`);
});

/**
 * A store of this test's own, which it can take down and bring back on the same port and folder.
 * Its bucket does not retry, so an unreachable store fails a write at once.
 */
async function ownStore(name: string) {
  const dir = await mkdtemp(join(tmpdir(), `mmit-jobs-${name}-`));
  let server = await startEmbeddedS3({ dir });
  const port = server.port;
  const own = new Bucket({
    ...embeddedS3Config(server, name),
    retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 },
  });
  await own.ensure();
  return {
    bucket: own,
    down: () => server.stop(),
    up: async () => {
      server = await startEmbeddedS3({ dir, port });
    },
    remove: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A runner on a store of its own (service `name`) whose one gated job ends while that store is down. */
async function jobEndingWhileStoreIsDown(name: string, finalWriteRetry: { firstMs: number; maxMs: number }) {
  const store = await ownStore(name);
  const g = gate();
  const runner = new JobRunner({ bucket: store.bucket, logger, service: name, finalWriteRetry }).define(
    'work',
    g.kind,
  );
  try {
    const job = await runner.submit('work', {});
    await g.started;
    await store.down();
    g.release();
    return { store, runner, job };
  } catch (err) {
    await runner.stop();
    await store.remove();
    throw err;
  }
}

test('a job that ends while the store is down keeps its result: the final record is stored once the store is back', async () => {
  const { store, runner: r, job } = await jobEndingWhileStoreIsDown('down', { firstMs: 50, maxMs: 200 });
  try {
    // Several refused tries; meanwhile this process answers with the final record.
    await pause(600);
    assert.equal((await r.get(job.id)).status, 'succeeded');
    await store.up();
    await r.idle();
    const stored = await store.bucket.getJson(keys.job('down', job.id), JobRecordSchema);
    assert.equal(stored.status, 'succeeded');
    assert.equal(stored.result, 'released');
    assert.ok(stored.finishedAt);
  } finally {
    await r.stop();
    await store.remove();
  }
});

test('stop() ends the wait for an unreachable store at once; the next start runs the job again', async () => {
  const {
    store,
    runner: first,
    job,
  } = await jobEndingWhileStoreIsDown('stop', { firstMs: 60_000, maxMs: 60_000 });
  try {
    await pause(200);
    const started = Date.now();
    await first.stop();
    assert.ok(Date.now() - started < 5_000, `stop() took ${Date.now() - started} ms`);
    await store.up();
    assert.equal((await store.bucket.getJson(keys.job('stop', job.id), JobRecordSchema)).status, 'running');
    const second = new JobRunner({ bucket: store.bucket, logger, service: 'stop' }).define('work', {
      params: z.object({}),
      run: async () => 'again',
    });
    assert.deepEqual(await second.resumePending(), [job.id]);
    await second.idle();
    const rec = await second.get(job.id);
    assert.deepEqual([rec.status, rec.result, rec.attempt], ['succeeded', 'again', 2]);
  } finally {
    await store.remove();
  }
});

test('a final record the store cannot take is stored as a failed job saying why, without retrying', async () => {
  const r = runner({ service: 'unjson' }).define('bigint', {
    params: z.object({}),
    // JSON has no BigInt: the record with this result cannot be written.
    run: async () => ({ n: 1n }),
  });
  const job = await r.submit('bigint', {});
  await r.idle();
  const stored = await bucket.getJson(keys.job('unjson', job.id), JobRecordSchema);
  assert.equal(stored.status, 'failed');
  assert.equal(stored.result, undefined);
  assert.match(stored.error?.detail ?? '', /final record could not be stored: .*BigInt/);
});
