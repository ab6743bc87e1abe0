// What S3 checks before it touches an object, added in front of s3rver's routes (a Koa
// middleware): every request must carry a valid SigV4 signature made with the server's keys
// (s3rver alone answered unsigned requests from anyone), the body must have the sha256 the
// signature covers, and writes honour S3's conditional headers as AWS documents them:
//   If-None-Match: *      create only: 412 PreconditionFailed when the key exists;
//   If-Match: "<etag>"    replace only: 404 NoSuchKey when the key is missing, 412 when its etag differs.
// Conditions apply to PutObject and CompleteMultipartUpload. Every write of a key (put, copy,
// complete, delete) holds that key's lock from the condition check until the write has landed,
// so a conditional write is atomic against any other writer in this process: two replicas racing
// to create one lease get one 200 and one 412, never two 200s. Reads of a key share its lock
// while they pick up the metadata and open the file, so a body always comes with its own etag.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type S3rver from 's3rver';
import { EMPTY_SHA256, UNSIGNED_PAYLOAD, verifySigV4 } from './sigv4.js';

type Store = S3rver['store'];

// s3rver's own error class renders the XML error body and the status S3 uses for each code.
const require = createRequire(import.meta.url);
const S3Error: new (
  code: string,
  message: string,
  detail?: Record<string, string>,
) => Error & {
  status: number;
  expose: boolean;
} = require('s3rver/lib/models/error');

/** Non-PUT bodies (multi-delete, complete-multipart XML) are read whole to check their hash. */
const MAX_SMALL_BODY = 1024 * 1024;

const STATUS_OVERRIDES: Record<string, number> = {
  RequestTimeTooSkewed: 403,
  AuthorizationQueryParametersError: 400,
  InvalidRequest: 400,
  XAmzContentSHA256Mismatch: 400,
  MaxMessageLengthExceeded: 400,
};

function s3Error(code: string, message: string): Error {
  const err = new S3Error(code, message);
  const status = STATUS_OVERRIDES[code];
  if (status) {
    err.status = status;
    err.expose = true;
  }
  return err;
}

/** The slice of Koa's context this middleware uses. */
interface Context {
  method: string;
  req: Readable & { url?: string; headers: Record<string, string | string[] | undefined> };
  headers: Record<string, string | string[] | undefined>;
  /** The response status (set by the guard only when it answers a request itself). */
  status: number;
}
type Next = () => Promise<void>;

export interface GuardOptions {
  store: Store;
  /** The secret of an access key, or undefined for a key the server does not know. */
  secretOf(accessKey: string): string | undefined;
}

/** A promise and the function that settles it (Promise.withResolvers is Node 22+). */
function gate(): [Promise<void>, () => void] {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return [promise, open];
}

/**
 * A first-come-first-served read-write lock per key. A write waits for every earlier read and
 * write of its keys; a read waits only for earlier writes. A writer enqueues on all its keys at
 * once (synchronously), so two writers of overlapping keys queue in the same order on each key
 * and cannot deadlock.
 */
class KeyLocks {
  private readonly keys = new Map<
    string,
    { write: Promise<void>; reads: Promise<void>[]; holders: number }
  >();

  async read<T>(name: string, work: () => Promise<T>): Promise<T> {
    const state = this.state(name);
    const wait = state.write;
    const [mine, done] = gate();
    state.reads.push(mine);
    await wait;
    try {
      return await work();
    } finally {
      done();
      this.leave(name);
    }
  }

  async write<T>(names: string[], work: () => Promise<T>): Promise<T> {
    const waits: Promise<unknown>[] = [];
    const releases: (() => void)[] = [];
    for (const name of new Set(names)) {
      const state = this.state(name);
      const wait = Promise.all([state.write, ...state.reads]);
      const [mine, done] = gate();
      state.write = wait.then(() => mine);
      state.reads = [];
      waits.push(wait);
      releases.push(() => {
        done();
        this.leave(name);
      });
    }
    await Promise.all(waits);
    try {
      return await work();
    } finally {
      for (const release of releases) release();
    }
  }

  private state(name: string) {
    let state = this.keys.get(name);
    if (!state) {
      state = { write: Promise.resolve(), reads: [], holders: 0 };
      this.keys.set(name, state);
    }
    state.holders++;
    return state;
  }

  private leave(name: string): void {
    const state = this.keys.get(name);
    if (state && --state.holders === 0) this.keys.delete(name);
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Bucket and key of a path-style URL (`/bucket/some/key?query`). */
function target(url: string): { bucket: string; key: string; query: URLSearchParams } {
  const [path, query = ''] = url.split('?', 2);
  const [, bucket = '', ...rest] = path.split('/');
  return { bucket: decode(bucket), key: rest.map(decode).join('/'), query: new URLSearchParams(query) };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

const unquote = (etag: string) => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');

/**
 * `source` as a stream that fails with XAmzContentSHA256Mismatch at its end if the bytes hash
 * differently. It pulls from `source` only as it is read, so nothing flows (and no error is raised)
 * before the store attaches to it; the store writes to a staging file, so a failed body never lands.
 */
function checkedBody(source: Readable, expected: string): Readable {
  return Readable.from(
    (async function* () {
      const hash = createHash('sha256');
      for await (const chunk of source) {
        hash.update(chunk as Buffer);
        yield chunk as Buffer;
      }
      const actual = hash.digest('hex');
      if (actual !== expected) {
        throw s3Error(
          'XAmzContentSHA256Mismatch',
          `the body's sha256 ${actual} differs from x-amz-content-sha256 ${expected}`,
        );
      }
    })(),
    { objectMode: false },
  );
}

async function readSmallBody(source: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += (chunk as Buffer).length;
    if (size > MAX_SMALL_BODY) {
      throw s3Error(
        'MaxMessageLengthExceeded',
        `request bodies other than PUT are limited to ${MAX_SMALL_BODY} bytes`,
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** `req` with another body: the same headers and url for whoever reads them, `body` as the data. */
function withBody(req: Context['req'], body: Readable): Context['req'] {
  return Object.assign(body, { url: req.url, headers: req.headers });
}

function hasBody(headers: Context['headers']): boolean {
  const length = single(headers['content-length']);
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Keys named in a DeleteObjects (POST ?delete) body. */
function keysToDelete(xml: string): string[] {
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return [...xml.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) =>
    m[1].replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (all, name: string) => {
      if (name.startsWith('#x') || name.startsWith('#X'))
        return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
      if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)));
      return entities[name] ?? all;
    }),
  );
}

export function s3Guard(options: GuardOptions): (ctx: Context, next: Next) => Promise<void> {
  const locks = new KeyLocks();

  /** 412/404 per AWS when the key's current state does not meet the write's conditions. */
  async function checkConditions(bucket: string, key: string, headers: Context['headers']): Promise<void> {
    const ifNoneMatch = single(headers['if-none-match']);
    const ifMatch = single(headers['if-match']);
    if (ifNoneMatch === undefined && ifMatch === undefined) return;
    if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
      throw s3Error('NotImplemented', 'If-None-Match on a write supports only "*"');
    }
    let current: string | undefined;
    try {
      current = unquote(String((await options.store.getMetadata(bucket, key)).etag ?? ''));
    } catch {
      current = undefined;
    }
    if (ifNoneMatch !== undefined && current !== undefined) {
      throw s3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    }
    if (ifMatch !== undefined) {
      if (current === undefined) throw s3Error('NoSuchKey', 'The specified key does not exist.');
      const wanted = ifMatch.split(',').map(unquote);
      if (!wanted.includes('*') && !wanted.includes(current)) {
        throw s3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      }
    }
  }

  return async function guard(ctx, next) {
    const url = ctx.req.url ?? '/';
    const check = verifySigV4({ method: ctx.method, url, headers: ctx.headers }, options.secretOf);
    if (!check.ok) throw s3Error(check.failure.code, check.failure.message);

    const method = ctx.method.toUpperCase();
    const { bucket, key, query } = target(url);
    // HEAD on a bucket (Bucket.ping, the readiness probe of every service): s3rver routes it to
    // its GET handler, which lists up to 1000 keys and reads each one's metadata files. With a
    // dozen replicas probing, those reads (thousands a second) held every answer back for seconds
    // and leases went unrenewed (found by test/e2e/chaos.test.ts). The bucket's folder answers it.
    if (method === 'HEAD' && key === '' && bucket !== '' && query.size === 0) {
      ctx.status = (await options.store.getBucket(bucket)) ? 200 : 404;
      return;
    }
    let smallBody: Buffer | undefined;
    if (check.payloadHash !== UNSIGNED_PAYLOAD) {
      if (method === 'PUT' && hasBody(ctx.headers)) {
        ctx.req = withBody(ctx.req, checkedBody(ctx.req, check.payloadHash));
      } else if (hasBody(ctx.headers)) {
        smallBody = await readSmallBody(ctx.req);
        const actual = createHash('sha256').update(smallBody).digest('hex');
        if (actual !== check.payloadHash) {
          throw s3Error(
            'XAmzContentSHA256Mismatch',
            `the body's sha256 ${actual} differs from x-amz-content-sha256 ${check.payloadHash}`,
          );
        }
        ctx.req = withBody(ctx.req, Readable.from([smallBody]));
      } else if (check.payloadHash !== EMPTY_SHA256) {
        throw s3Error(
          'XAmzContentSHA256Mismatch',
          'x-amz-content-sha256 names a body but the request has none',
        );
      }
    }

    const uploadId = query.has('uploadId');
    const writesKey =
      key !== '' &&
      ((method === 'PUT' && !uploadId) ||
        (method === 'DELETE' && !uploadId) ||
        (method === 'POST' && uploadId));
    const conditional =
      writesKey && method !== 'DELETE' && single(ctx.headers['x-amz-copy-source']) === undefined;
    let locked: string[] = [];
    if (writesKey) locked = [`${bucket}/${key}`];
    else if (method === 'POST' && key === '' && query.has('delete')) {
      if (!smallBody) {
        smallBody = await readSmallBody(ctx.req);
        ctx.req = withBody(ctx.req, Readable.from([smallBody]));
      }
      locked = keysToDelete(smallBody.toString('utf8')).map((k) => `${bucket}/${k}`);
    }
    if (locked.length > 0) {
      await locks.write(locked, async () => {
        if (conditional) await checkConditions(bucket, key, ctx.headers);
        await next();
      });
      return;
    }
    // A GET reads the metadata (etag, length) and opens the file before next() returns; holding
    // the key's read lock until then keeps a write from landing in between, so the etag a reader
    // gets is the etag of the bytes it gets (a compare-and-swap on a mismatched pair loses updates).
    if (key !== '' && (method === 'GET' || method === 'HEAD')) {
      await locks.read(`${bucket}/${key}`, next);
      return;
    }
    await next();
  };
}
