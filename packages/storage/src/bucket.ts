// The one bucket every service reads and writes, over the minio client. Adds what the services
// need on top of raw S3: JSON with schema checks on read, conditional writes for publishing,
// listing as an async iterator across continuation pages, retries on transient failures, and
// errors that name the key. minio's own retry is switched off so retry policy lives here alone.
//
// Conditional writes (create-if-absent, replace-if-unchanged) are what replicas coordinate with:
// leases on job records, compare-and-swap of manifests, exactly-once publishes. updateJson wraps
// them into a read-modify-write that retries when another writer got there first.
//
// Limits: streamed uploads (putStream) are not retried, since a consumed stream cannot be replayed;
// callers that need it retry the whole item. There is no per-request timeout beyond the socket's.
import { createHash, randomBytes } from 'node:crypto';
import { Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { finished } from 'node:stream/promises';
import { keys } from '@mmit/contracts';
import { Client, CopyDestinationOptions, CopySourceOptions, S3Error } from 'minio';
import type { z } from 'zod';
import { type S3Config, s3ConfigFromEnv } from './config.js';
import {
  BucketNotFoundError,
  ConditionalWritesUnsupportedError,
  describe,
  ObjectNotFoundError,
  PreconditionFailedError,
  StorageError,
  StorageUnavailableError,
  StoredObjectInvalidError,
  UpdateConflictError,
} from './errors.js';
import { partsOf } from './parts.js';
import {
  DEFAULT_RETRY,
  isTransientError,
  RetriesExhaustedError,
  type RetryPolicy,
  withRetry,
} from './retry.js';

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface ObjectStat extends ObjectInfo {
  contentType: string | undefined;
  /** User metadata (x-amz-meta-*), lower-cased names without the prefix. */
  metadata: Record<string, string>;
}

export interface PutOptions {
  contentType?: string;
  /** User metadata stored with the object (x-amz-meta-*). */
  metadata?: Record<string, string>;
  /**
   * sha256 (hex) of the body when the caller knows it already (content-addressed keys): over plain HTTP
   * the request signature covers the payload's sha256, and this saves hashing the body again. S3 and MinIO
   * refuse the put if it is wrong.
   */
  sha256?: string;
}

export interface ListOptions {
  /** Start listing after this key (exclusive), e.g. a cursor from a previous page. */
  startAfter?: string;
  /** Keys per request to the server (the iterator fetches pages as it goes). */
  pageSize?: number;
}

/** A stored value and the etag of the version it was read from (for replace-if-unchanged). */
export interface Versioned<T> {
  value: T;
  etag: string;
}

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound']);
/** Attempts of one updateJson before UpdateConflictError (each lost race re-reads). */
const UPDATE_ATTEMPTS = 50;
/** S3 rejects multipart parts under 5 MiB (except the last). */
/** S3's smallest part of a multipart upload (all but the last); MinIO and AWS refuse smaller ones. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/** What a Bucket needs: S3Config with the retry policy optional (default DEFAULT_RETRY). */
export type BucketConfig = Omit<S3Config, 'retry'> & { retry?: RetryPolicy };

/** Builds a minio client for a config: path-style, keep-alive, minio's own retries off. */
export function createS3Client(config: BucketConfig): Client {
  const url = new URL(config.endpoint);
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    region: config.region,
    pathStyle: true,
    transportAgent: useSSL ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true }),
    retryOptions: { disableRetry: true },
  });
}

export class Bucket {
  private readonly client: Client;
  readonly name: string;
  readonly endpoint: string;
  private readonly retry: RetryPolicy;

  constructor(config: BucketConfig, client: Client = createS3Client(config)) {
    this.client = client;
    this.name = config.bucket;
    this.endpoint = config.endpoint;
    this.retry = config.retry ?? DEFAULT_RETRY;
  }

  /** The bucket named by MMIT_S3_* (see STORAGE_ENV); MMIT_S3_ENDPOINT must be set. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): Bucket {
    return new Bucket(s3ConfigFromEnv(env));
  }

  /** Creates the bucket if it does not exist. */
  async ensure(): Promise<void> {
    const exists = await this.call('ensure', undefined, () => this.client.bucketExists(this.name));
    if (exists) return;
    try {
      await this.call('ensure', undefined, () => this.client.makeBucket(this.name, this.client.region));
    } catch (err) {
      // Another replica may have created it between our check and our create.
      const code =
        err instanceof StorageError ? (err.cause as { code?: string } | undefined)?.code : undefined;
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw err;
    }
  }

  /** Readiness probe: resolves when the server answers and the bucket exists. */
  async ping(): Promise<void> {
    const exists = await this.call('ping', undefined, () => this.client.bucketExists(this.name));
    if (!exists) throw new BucketNotFoundError('ping', this.name);
  }

  /**
   * One PUT of a whole buffer. Over HTTP the body is signed by its sha256 alone (given or computed once);
   * minio's putObject would also MD5 it and copy it first. Over HTTPS minio's own path runs (it signs
   * UNSIGNED-PAYLOAD and sends Content-MD5, which some bucket configurations require).
   */
  async putBuffer(key: string, body: Buffer | string, options: PutOptions = {}): Promise<{ etag: string }> {
    const buffer = typeof body === 'string' ? Buffer.from(body) : body;
    return this.call('put', key, () => this.sendPut(key, buffer, options, {}));
  }

  /**
   * Creates `key` only if no object has it (`If-None-Match: *`). Throws PreconditionFailedError when
   * one exists. Two writers racing for one key: exactly one succeeds.
   */
  async putIfAbsent(key: string, body: Buffer | string, options: PutOptions = {}): Promise<{ etag: string }> {
    return this.conditionalPut('putIfAbsent', key, body, options, { 'If-None-Match': '*' });
  }

  /**
   * Replaces `key` only if it still holds the version `etag` names (`If-Match`). Throws
   * PreconditionFailedError when another write came first, ObjectNotFoundError when it was deleted.
   */
  async putIfMatch(
    key: string,
    body: Buffer | string,
    etag: string,
    options: PutOptions = {},
  ): Promise<{ etag: string }> {
    return this.conditionalPut('putIfMatch', key, body, options, { 'If-Match': `"${unquote(etag)}"` });
  }

  /** putIfAbsent of a JSON value (checked by `schema` first when given). */
  async putJsonIfAbsent<T>(key: string, value: T, schema?: z.ZodType<T>): Promise<{ etag: string }> {
    const checked = schema ? schema.parse(value) : value;
    return this.putIfAbsent(key, JSON.stringify(checked), { contentType: 'application/json' });
  }

  /** putIfMatch of a JSON value (checked by `schema` first when given). */
  async putJsonIfMatch<T>(
    key: string,
    value: T,
    etag: string,
    schema?: z.ZodType<T>,
  ): Promise<{ etag: string }> {
    const checked = schema ? schema.parse(value) : value;
    return this.putIfMatch(key, JSON.stringify(checked), etag, { contentType: 'application/json' });
  }

  /**
   * Read-modify-write of one JSON object by compare-and-swap: reads it (undefined when absent), asks
   * `change` for the next value, and writes it only if nobody wrote in between; otherwise reads again
   * and asks again. `change` returning undefined leaves the object as it is. Because `change` may run
   * several times, it must be a pure function of what it is given.
   */
  async updateJson<S extends z.ZodType>(
    key: string,
    schema: S,
    change: (current: z.output<S> | undefined) => z.output<S> | undefined,
  ): Promise<Versioned<z.output<S>> | undefined> {
    for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
      const current = await this.getJsonVersioned(key, schema);
      const next = change(current?.value);
      if (next === undefined) return current;
      try {
        const { etag } = current
          ? await this.putJsonIfMatch(key, next, current.etag, schema)
          : await this.putJsonIfAbsent(key, next, schema);
        return { value: schema.parse(next), etag };
      } catch (err) {
        if (!(err instanceof PreconditionFailedError || err instanceof ObjectNotFoundError)) throw err;
        // Lost a race: back off a little (more as it repeats) so writers stop colliding.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * attempt)));
      }
    }
    throw new UpdateConflictError(key, UPDATE_ATTEMPTS);
  }

  /**
   * Checks once that the server enforces conditional writes (an old or partial S3 would accept
   * `If-None-Match: *` over an existing object, and leases would silently stop excluding each
   * other). Throws ConditionalWritesUnsupportedError naming the server.
   */
  async verifyConditionalWrites(): Promise<void> {
    const key = keys.staging(
      'conditional-write-check',
      `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`,
    );
    const { etag } = await this.putIfAbsent(key, 'first');
    try {
      const refusedCreate = await this.putIfAbsent(key, 'second').then(
        () => false,
        (err) => {
          if (err instanceof PreconditionFailedError) return true;
          throw err;
        },
      );
      const refusedReplace = await this.putIfMatch(key, 'third', `${etag.slice(0, -1)}0`).then(
        () => false,
        (err) => {
          if (err instanceof PreconditionFailedError) return true;
          throw err;
        },
      );
      if (!refusedCreate || !refusedReplace) {
        throw new ConditionalWritesUnsupportedError(this.endpoint, await this.serverName());
      }
    } finally {
      await this.delete(key).catch(() => {});
    }
  }

  /** The `Server` header the endpoint answers with (e.g. MinIO, AmazonS3), for messages. */
  private async serverName(): Promise<string> {
    try {
      const response = await this.client.makeRequestAsync(
        { method: 'HEAD', bucketName: this.name },
        '',
        [200],
      );
      response.resume();
      return String(response.headers.server ?? 'unknown server');
    } catch {
      return 'unknown server';
    }
  }

  private async conditionalPut(
    op: string,
    key: string,
    body: Buffer | string,
    options: PutOptions,
    condition: Record<string, string>,
  ): Promise<{ etag: string }> {
    const buffer = typeof body === 'string' ? Buffer.from(body) : body;
    const md5 = createHash('md5').update(buffer).digest('hex');
    return this.call(op, key, async (attempt) => {
      try {
        return await this.sendPut(key, buffer, options, condition);
      } catch (err) {
        // A retried conditional write can be refused because its own earlier attempt landed and
        // only the answer was lost. If the object now holds exactly these bytes, that write was ours.
        if (attempt > 1 && (err as { code?: unknown }).code === 'PreconditionFailed') {
          const now = await this.client.statObject(this.name, key).catch(() => undefined);
          if (now && unquote(now.etag) === md5) return { etag: md5 };
        }
        throw err;
      }
    });
  }

  /** The PUT itself, without retries or error mapping (see putBuffer for the two paths). */
  private async sendPut(
    key: string,
    buffer: Buffer,
    options: PutOptions,
    extraHeaders: Record<string, string>,
  ): Promise<{ etag: string }> {
    if (!this.client.enableSHA256) {
      const info = await this.client.putObject(this.name, key, buffer, buffer.length, {
        ...headers(options),
        ...extraHeaders,
      });
      return { etag: unquote(info.etag) };
    }
    const sha256 = options.sha256 ?? createHash('sha256').update(buffer).digest('hex');
    const response = await this.client.makeRequestStreamAsync(
      {
        method: 'PUT',
        bucketName: this.name,
        objectName: key,
        headers: { ...headers(options), ...extraHeaders, 'Content-Length': String(buffer.length) },
      },
      buffer,
      sha256,
      [200],
      '',
    );
    response.resume();
    await finished(response);
    return { etag: unquote(String(response.headers.etag ?? '')) };
  }

  /**
   * Streams an upload of unknown size. A stream that fits in one part becomes a plain PUT; a
   * longer one becomes a multipart upload driven here part by part (each part retried on its
   * own, one part in memory at a time). minio's own multipart path first lists unfinished uploads,
   * which s3rver does not implement, hence this. A failed upload is aborted.
   */
  async putStream(
    key: string,
    body: Readable | AsyncIterable<Buffer | Uint8Array | string>,
    options: PutOptions & { partSize?: number } = {},
  ): Promise<{ etag: string; size: number }> {
    const partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (partSize < MIN_PART_SIZE)
      throw new RangeError(`partSize ${partSize} is below S3's minimum of ${MIN_PART_SIZE}`);
    const parts = partsOf(body, partSize);
    const first = await parts.next();
    if (first.done) return { ...(await this.putBuffer(key, Buffer.alloc(0), options)), size: 0 };
    const second = await parts.next();
    if (second.done)
      return { ...(await this.putBuffer(key, first.value, options)), size: first.value.length };

    const uploadId = await this.call('putStream', key, () =>
      this.client.initiateNewMultipartUpload(this.name, key, headers(options)),
    );
    try {
      const etags: { part: number; etag: string }[] = [];
      let size = 0;
      const upload = async (part: Buffer) => {
        const partNumber = etags.length + 1;
        const res = await this.call('putStream', key, () =>
          this.client.uploadPart(
            { bucketName: this.name, objectName: key, uploadID: uploadId, partNumber, headers: {} },
            part,
          ),
        );
        etags.push({ part: partNumber, etag: res.etag });
        size += part.length;
      };
      await upload(first.value);
      await upload(second.value);
      for await (const part of parts) await upload(part);
      const done = await this.call('putStream', key, () =>
        this.client.completeMultipartUpload(this.name, key, uploadId, etags),
      );
      return { etag: done.etag, size };
    } catch (err) {
      await this.client.abortMultipartUpload(this.name, key, uploadId).catch(() => {});
      throw err;
    }
  }

  /**
   * The steps of one S3 multipart upload, for uploads whose parts arrive over time, possibly at
   * different replicas (a client's resumable upload): start, put parts (1..10000, all but the last
   * at least MIN_PART_SIZE, which the store checks at completion), complete or abort.
   */
  async startMultipart(key: string, options: PutOptions = {}): Promise<string> {
    return this.call('startMultipart', key, () =>
      this.client.initiateNewMultipartUpload(this.name, key, headers(options)),
    );
  }

  async putPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<{ etag: string }> {
    const res = await this.call('putPart', key, () =>
      this.client.uploadPart(
        { bucketName: this.name, objectName: key, uploadID: uploadId, partNumber, headers: {} },
        body,
      ),
    );
    return { etag: res.etag };
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: { part: number; etag: string }[],
  ): Promise<{ etag: string }> {
    const done = await this.call('completeMultipart', key, () =>
      this.client.completeMultipartUpload(this.name, key, uploadId, parts),
    );
    return { etag: done.etag };
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.call('abortMultipart', key, () => this.client.abortMultipartUpload(this.name, key, uploadId));
  }

  async putJson<T>(key: string, value: T, schema?: z.ZodType<T>): Promise<void> {
    const checked = schema ? schema.parse(value) : value;
    await this.putBuffer(key, JSON.stringify(checked), { contentType: 'application/json' });
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    await this.call('copy', toKey, () =>
      this.client.copyObject(
        new CopySourceOptions({ Bucket: this.name, Object: fromKey }),
        new CopyDestinationOptions({ Bucket: this.name, Object: toKey }),
      ),
    );
  }

  /**
   * Opens a read stream, of the whole object or of its bytes from `range.offset` (`range.length` of
   * them, else to the end); the request is retried, bytes already flowing are not.
   */
  async getStream(key: string, range?: { offset: number; length?: number }): Promise<Readable> {
    if (!range) return this.call('get', key, () => this.client.getObject(this.name, key));
    return this.call('get', key, () =>
      this.client.getPartialObject(this.name, key, range.offset, range.length ?? 0),
    );
  }

  async getBuffer(key: string): Promise<Buffer> {
    return this.call('get', key, async () => {
      const stream = await this.client.getObject(this.name, key);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    });
  }

  /** Reads a JSON object; with a schema, the parsed value is checked and typed by it. */
  async getJson(key: string): Promise<unknown>;
  async getJson<S extends z.ZodType>(key: string, schema: S): Promise<z.output<S>>;
  async getJson(key: string, schema?: z.ZodType): Promise<unknown> {
    const body = await this.call('get', key, async () => text(await this.client.getObject(this.name, key)));
    return parseJson(key, body, schema);
  }

  /** Like getJson, but undefined when the object does not exist. */
  async getJsonIfExists(key: string): Promise<unknown>;
  async getJsonIfExists<S extends z.ZodType>(key: string, schema: S): Promise<z.output<S> | undefined>;
  async getJsonIfExists(key: string, schema?: z.ZodType): Promise<unknown> {
    try {
      return schema ? await this.getJson(key, schema) : await this.getJson(key);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
  }

  /** Reads a JSON object with the etag of the version read; undefined when it does not exist. */
  async getJsonVersioned<S extends z.ZodType>(
    key: string,
    schema: S,
  ): Promise<Versioned<z.output<S>> | undefined> {
    let read: { body: string; etag: string };
    try {
      read = await this.call('get', key, async () => {
        const response = (await this.client.getObject(this.name, key)) as IncomingMessage;
        return { etag: unquote(String(response.headers.etag ?? '')), body: await text(response) };
      });
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
    return { value: parseJson(key, read.body, schema) as z.output<S>, etag: read.etag };
  }

  async stat(key: string): Promise<ObjectStat> {
    const s = await this.call('stat', key, () => this.client.statObject(this.name, key));
    const { 'content-type': contentType, ...metadata } = s.metaData as Record<string, string>;
    return { key, size: s.size, etag: s.etag, lastModified: s.lastModified, contentType, metadata };
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.stat(key);
      return true;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return false;
      throw err;
    }
  }

  /** Deletes one object; deleting a missing key is not an error (as in S3). */
  async delete(key: string): Promise<void> {
    await this.call('delete', key, () => this.client.removeObject(this.name, key));
  }

  /** Deletes every object under a prefix; returns how many. */
  async deletePrefix(prefix: string): Promise<number> {
    let count = 0;
    let batch: string[] = [];
    const flush = async () => {
      const names = batch;
      batch = [];
      if (names.length)
        await this.call('deletePrefix', prefix, () => this.client.removeObjects(this.name, names));
    };
    for await (const obj of this.list(prefix)) {
      batch.push(obj.key);
      count++;
      if (batch.length === 1000) await flush();
    }
    await flush();
    return count;
  }

  /**
   * Every object under `prefix`, in key order, fetching pages lazily (each page request retried).
   * Uses ListObjects v1 with `marker` = the last key seen: s3rver answers any truncated v2 listing
   * with a 500 (it builds continuation tokens with DES, which Node 17+'s OpenSSL refuses), and
   * marker paging works the same on every S3.
   */
  async *list(prefix: string, options: ListOptions = {}): AsyncGenerator<ObjectInfo> {
    let marker = options.startAfter ?? '';
    const MaxKeys = options.pageSize ?? 1000;
    for (;;) {
      const page = await this.call('list', prefix, () =>
        this.client.listObjectsQuery(this.name, prefix, marker, { Delimiter: '', MaxKeys }),
      );
      for (const o of page.objects) {
        if (o.name === undefined) continue;
        yield {
          key: o.name,
          size: o.size ?? 0,
          etag: o.etag ?? '',
          lastModified: o.lastModified ?? new Date(0),
        };
        marker = o.name;
      }
      if (!page.isTruncated || page.objects.length === 0) return;
    }
  }

  /** The immediate "sub-folders" of a prefix (e.g. `corpora/<id>/` under `corpora/`), in key order. */
  async listPrefixes(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let marker = '';
    for (;;) {
      const page = await this.call('list', prefix, () =>
        this.client.listObjectsQuery(this.name, prefix, marker, { Delimiter: '/', MaxKeys: 1000 }),
      );
      for (const o of page.objects) {
        if (o.prefix) out.push(o.prefix);
        // Skip everything under a common prefix: U+10FFFF sorts after any key continuing it.
        marker = o.prefix ? `${o.prefix}\u{10FFFF}` : (o.name ?? marker);
      }
      if (!page.isTruncated || page.objects.length === 0) return out;
    }
  }

  /** A URL that GETs the object without credentials until it expires. */
  async presignGet(key: string, expiresSec = 3600): Promise<string> {
    return this.call('presign', key, () => this.client.presignedGetObject(this.name, key, expiresSec));
  }

  /** Runs one client call with retries and maps failures to the storage errors. */
  private async call<T>(
    op: string,
    key: string | undefined,
    fn: (attempt: number) => Promise<T>,
    opts = { retry: true },
  ): Promise<T> {
    try {
      return await withRetry(fn, opts.retry ? this.retry : { ...this.retry, retries: 0 });
    } catch (err) {
      if (err instanceof RetriesExhaustedError) {
        throw new StorageUnavailableError(op, key, this.endpoint, err.attempts, err.lastError);
      }
      if (err instanceof StorageError) throw err;
      const code = (err as { code?: unknown }).code;
      if (err instanceof S3Error && code === 'NoSuchBucket') throw new BucketNotFoundError(op, this.name);
      if (err instanceof S3Error && code === 'PreconditionFailed' && key) {
        throw new PreconditionFailedError(op, key);
      }
      if (err instanceof S3Error && typeof code === 'string' && NOT_FOUND_CODES.has(code) && key) {
        throw new ObjectNotFoundError(op, key, this.name);
      }
      if (isTransientError(err)) throw new StorageUnavailableError(op, key, this.endpoint, 1, err);
      throw new StorageError(`${op}${key ? ` ${key}` : ''} failed: ${describe(err)}`, op, key, {
        cause: err,
      });
    }
  }
}

/** ETags travel quoted (`"abc"`); compare them bare. */
function unquote(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

function parseJson(key: string, body: string, schema?: z.ZodType): unknown {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    throw new StoredObjectInvalidError(key, `not JSON (${describe(err)})`, err);
  }
  if (!schema) return value;
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new StoredObjectInvalidError(
      key,
      `does not match its schema: ${first.path.join('.') || '(root)'}: ${first.message}`,
      parsed.error,
    );
  }
  return parsed.data;
}

function headers(options: PutOptions): Record<string, string> {
  const out: Record<string, string> = {};
  if (options.contentType) out['Content-Type'] = options.contentType;
  for (const [name, value] of Object.entries(options.metadata ?? {})) out[`x-amz-meta-${name}`] = value;
  return out;
}
