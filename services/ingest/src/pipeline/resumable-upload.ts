// Resumable uploads: a client sends a large archive (a folder tarred on the fly by the CLI) in
// fixed-size parts, in any order and over as many connections and days as it takes, then completes
// it into one object under `uploads/`, which an import job names as its source.
//
// Why the service's own route over presigned S3 multipart URLs: the client only ever reaches the
// gateway (in production the store is usually not reachable from the user's machine, and the
// embedded one listens on loopback), the gateway's API key covers it, and the service checks each
// part's sha256 as it arrives. Underneath it is still one S3 multipart upload, so completing costs
// no copy. Every piece of state is in the bucket (the session record and one record per part), so
// parts may land on different replicas and a restarted service forgets nothing. A part is held in
// memory while it is hashed and stored: at most `partBytes` per request in flight.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  type CompleteUploadRequest,
  keys,
  newId,
  type UploadPart,
  UploadPartSchema,
  type UploadSession,
} from '@mmit/contracts';
import { HttpError } from '@mmit/service-kit';
import { type Bucket, ObjectNotFoundError } from '@mmit/storage';
import { z } from 'zod';

const SessionRecordSchema = z.object({
  id: z.string(),
  key: z.string(),
  partBytes: z.number().int().positive(),
  /** The S3 multipart upload's id (never shown to clients: the session id stands for it). */
  multipartId: z.string(),
  state: z.enum(['open', 'complete']),
  size: z.number().int().nonnegative().optional(),
  createdAt: z.string(),
});
type SessionRecord = z.infer<typeof SessionRecordSchema>;

const PartRecordSchema = UploadPartSchema.extend({ etag: z.string() });
type PartRecord = z.infer<typeof PartRecordSchema>;

/** `Content-Digest: sha-256=:<base64>:` (RFC 9530) as hex, or undefined when absent. */
export function sha256FromDigestHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]+):/.exec(header);
  if (!match) {
    throw new HttpError('validation', 'Content-Digest must carry sha-256=:<base64>: (RFC 9530)', {
      errors: [{ path: 'Content-Digest', message: 'no sha-256 digest', code: 'invalid_format' }],
    });
  }
  return Buffer.from(match[1], 'base64').toString('hex');
}

export class UploadSessions {
  constructor(
    private readonly bucket: Bucket,
    private readonly partBytes: number,
  ) {}

  async create(filename: string): Promise<UploadSession> {
    const id = newId('upload');
    const key = keys.upload(id, filename);
    const multipartId = await this.bucket.startMultipart(key);
    const record: SessionRecord = {
      id,
      key,
      partBytes: this.partBytes,
      multipartId,
      state: 'open',
      createdAt: new Date().toISOString(),
    };
    await this.bucket.putJson(keys.uploadSession(id), record, SessionRecordSchema);
    return this.view(record, []);
  }

  async get(id: string): Promise<UploadSession> {
    const record = await this.record(id);
    return this.view(record, await this.parts(id));
  }

  /** Stores part `n` from `body`; `sha256` (hex), when given, must match the bytes received. */
  async putPart(id: string, n: number, body: Readable, sha256?: string): Promise<UploadPart> {
    const record = await this.record(id);
    if (record.state !== 'open') {
      body.resume();
      throw new HttpError('conflict', `upload ${id} is already complete; start a new one to send more`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const hash = createHash('sha256');
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      size += bytes.length;
      if (size > record.partBytes) {
        body.resume();
        throw new HttpError(
          'payload_too_large',
          `part ${n} of upload ${id} is over the part size of ${record.partBytes} bytes`,
          { item: { index: n } },
        );
      }
      hash.update(bytes);
      chunks.push(bytes);
    }
    const actual = hash.digest('hex');
    if (sha256 !== undefined && sha256 !== actual) {
      // A part damaged on the way is refused, not stored: the client sends it again.
      throw new HttpError(
        'validation',
        `part ${n} of upload ${id}: the bytes received (${size}, sha256 ${actual}) do not match Content-Digest (sha256 ${sha256})`,
        { item: { index: n } },
      );
    }
    if (size === 0) {
      throw new HttpError('validation', `part ${n} of upload ${id} is empty`, { item: { index: n } });
    }
    const { etag } = await this.bucket.putPart(
      record.key,
      record.multipartId,
      n,
      Buffer.concat(chunks, size),
    );
    const part: PartRecord = { n, size, sha256: actual, etag };
    await this.bucket.putJson(keys.uploadPart(id, n), part, PartRecordSchema);
    return { n, size, sha256: actual };
  }

  /**
   * Joins parts 1..count into the upload's object. Every part must be there and full-sized but the
   * last (so the object is exactly the bytes the client cut); a second call returns the same answer.
   */
  async complete(id: string, request: CompleteUploadRequest): Promise<UploadSession> {
    const record = await this.record(id);
    const parts = await this.parts(id);
    if (record.state === 'complete') return this.view(record, parts);
    const byNumber = new Map(parts.map((p) => [p.n, p]));
    const wanted: PartRecord[] = [];
    for (let n = 1; n <= request.parts; n++) {
      const part = byNumber.get(n);
      if (!part) {
        throw new HttpError('validation', `upload ${id} has no part ${n}; send it before completing`, {
          item: { index: n },
        });
      }
      if (n < request.parts && part.size !== record.partBytes) {
        throw new HttpError(
          'validation',
          `part ${n} of upload ${id} is ${part.size} bytes; every part but the last must be ${record.partBytes}`,
          { item: { index: n } },
        );
      }
      wanted.push(part);
    }
    const extra = parts.filter((p) => p.n > request.parts).map((p) => p.n);
    if (extra.length > 0) {
      throw new HttpError(
        'validation',
        `upload ${id} holds parts past ${request.parts} (${extra.join(', ')}): the count is wrong`,
        { item: { index: extra[0] } },
      );
    }
    await this.bucket.completeMultipart(
      record.key,
      record.multipartId,
      wanted.map((p) => ({ part: p.n, etag: p.etag })),
    );
    const done: SessionRecord = {
      ...record,
      state: 'complete',
      size: wanted.reduce((sum, p) => sum + p.size, 0),
    };
    await this.bucket.putJson(keys.uploadSession(id), done, SessionRecordSchema);
    return this.view(done, parts);
  }

  /** Drops the upload: its unfinished parts, its object if completed, its records. */
  async abort(id: string): Promise<void> {
    const record = await this.record(id);
    if (record.state === 'open') {
      await this.bucket.abortMultipart(record.key, record.multipartId).catch(() => undefined);
    }
    await this.bucket.deletePrefix(keys.uploadPrefix(id));
  }

  private async record(id: string): Promise<SessionRecord> {
    let key: string;
    try {
      key = keys.uploadSession(id);
    } catch {
      throw new HttpError('validation', `${id} is not an upload id`, {
        errors: [{ path: 'id', message: 'not an upload id', code: 'invalid_format' }],
      });
    }
    try {
      return await this.bucket.getJson(key, SessionRecordSchema);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) {
        throw new HttpError(
          'not_found',
          `no upload ${id} (it was completed and imported, aborted, or never started)`,
        );
      }
      throw err;
    }
  }

  private async parts(id: string): Promise<PartRecord[]> {
    const prefix = keys.uploadSession(id).replace(/session\.json$/, 'part-');
    const parts: PartRecord[] = [];
    for await (const object of this.bucket.list(prefix)) {
      parts.push(await this.bucket.getJson(object.key, PartRecordSchema));
    }
    return parts.sort((a, b) => a.n - b.n);
  }

  private view(record: SessionRecord, parts: PartRecord[]): UploadSession {
    return {
      id: record.id,
      key: record.key,
      partBytes: record.partBytes,
      state: record.state,
      parts: parts.map(({ n, size, sha256 }) => ({ n, size, sha256 })),
      ...(record.size !== undefined ? { size: record.size } : {}),
      createdAt: record.createdAt,
    };
  }
}
