// The HTTP API of the ingest service, declared once per route (validated handler + OpenAPI entry).
import type { IncomingMessage } from 'node:http';
import {
  CompleteUploadRequestSchema,
  CorpusId,
  CorpusManifestSchema,
  CreateCorpusRequestSchema,
  CreateUploadRequestSchema,
  type ImportRequest,
  ImportRequestSchema,
  ItemRecordSchema,
  ItemStatusSchema,
  JobRecordSchema,
  keys,
  newId,
  PageQuerySchema,
  ProblemSchema,
  pageOf,
  UploadPartSchema,
  UploadResponseSchema,
  UploadSessionSchema,
} from '@mmit/contracts';
import { HttpError, type JobRunner, mountJobRoutes, type Service } from '@mmit/service-kit';
import type { Bucket } from '@mmit/storage';
import busboy from 'busboy';
import { z } from 'zod';
import type { ingestConfigSpec } from './config.js';
import { CorpusBatch } from './corpus/batch.js';
import type { CorpusStore } from './corpus/store.js';
import { submitImport } from './jobs/import-job.js';
import { uploadedContainer } from './pipeline/import-source.js';
import type { IngestSettings } from './pipeline/ingest-item.js';
import { sha256FromDigestHeader, UploadSessions } from './pipeline/resumable-upload.js';
import type { ImportContext } from './pipeline/run-import.js';
import { receiveUpload } from './pipeline/upload.js';

export interface IngestDeps {
  bucket: Bucket;
  store: CorpusStore;
  runner: JobRunner;
  importContext: ImportContext;
  settings: IngestSettings;
}

const ThumbnailParams = z.object({
  fan: z.string().regex(/^[0-9a-f]{2}$/),
  file: z.string().regex(/^[0-9a-f]{64}\.(webp|jpeg|jpg|png)$/),
});

const MediaParams = z.object({
  fan: z.string().regex(/^[0-9a-f]{2}$/),
  file: z.string().regex(/^[0-9a-f]{64}\.[a-z0-9]{1,16}$/),
});

const CorpusParams = z.object({ id: CorpusId });
const UploadParams = z.object({ id: z.string().max(40) });
const PartParams = UploadParams.extend({ n: z.coerce.number().int().min(1).max(10_000) });
const ItemsQuery = PageQuerySchema.extend({ status: ItemStatusSchema.optional() });
const problems = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { description: 'problem+json', schema: ProblemSchema }]));

/** Upload filenames become one segment of a bucket key: keep it to safe characters. */
function keySafeName(name: string): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^\.+/, '')
    .slice(-100);
  return cleaned || 'archive';
}

/** A form field over MMIT_INGEST_MAX_FIELD_BYTES is refused whole, never cut. */
function fieldTooLarge(name: string, maxFieldBytes: number): HttpError {
  return new HttpError(
    'payload_too_large',
    `the \`${name}\` field exceeds ${maxFieldBytes} bytes (MMIT_INGEST_MAX_FIELD_BYTES)`,
    { errors: [{ path: name, message: 'too large', code: 'too_big' }] },
  );
}

/** Refuses (400) an uploaded object that is not an archive an import can read. */
async function checkArchive(bucket: Bucket, key: string): Promise<void> {
  const container = await uploadedContainer(bucket, key);
  if (container === 'other') {
    throw new HttpError(
      'validation',
      'the uploaded archive is neither a tar (.tar, .tar.gz) nor a zip file',
      {
        errors: [{ path: 'source.key', message: 'not a tar or zip archive', code: 'invalid_format' }],
      },
    );
  }
}

/**
 * The multipart form of an import: an `archive` file part (streamed to the bucket under
 * `uploads/`) plus `format` and optional `options` (JSON) fields, sent before the file. Whatever
 * refuses the request after the archive is stored also deletes it.
 */
async function receiveArchive(
  req: IncomingMessage,
  bucket: Bucket,
  limits: { maxArchiveBytes: number; maxFieldBytes: number },
): Promise<ImportRequest> {
  const parser = busboy({
    headers: req.headers,
    limits: { files: 1, fileSize: limits.maxArchiveBytes, fieldSize: limits.maxFieldBytes },
  });
  const fields: Record<string, string> = {};
  const truncatedFields: string[] = [];
  let stored: Promise<string> | undefined;
  let truncated = false;
  const done = new Promise<void>((resolve, reject) => {
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) truncatedFields.push(name);
      fields[name] = value;
    });
    parser.on('file', (_name, stream, info) => {
      const key = keys.upload(newId('upload'), keySafeName(info.filename ?? 'archive'));
      stream.on('limit', () => {
        truncated = true;
      });
      stored = bucket.putStream(key, stream).then(() => key);
      stored.catch(() => undefined);
    });
    parser.on('close', resolve);
    parser.on('error', reject);
    req.on('aborted', () => reject(new HttpError('upload_incomplete', 'the archive upload ended early')));
  });
  req.pipe(parser);
  await done;
  if (!stored)
    throw new HttpError('validation', 'the import form needs an `archive` file part (and a `format` field)');
  const key = await stored;
  try {
    if (truncated) {
      throw new HttpError(
        'payload_too_large',
        `the archive exceeds ${limits.maxArchiveBytes} bytes (MMIT_INGEST_MAX_ARCHIVE_BYTES)`,
      );
    }
    if (truncatedFields.length > 0) throw fieldTooLarge(truncatedFields[0], limits.maxFieldBytes);
    let options: unknown = {};
    if (fields.options) {
      try {
        options = JSON.parse(fields.options);
      } catch {
        throw new HttpError('validation', 'the `options` field must be JSON', {
          errors: [{ path: 'options', message: 'not JSON', code: 'invalid_format' }],
        });
      }
    }
    const request = ImportRequestSchema.parse({
      format: fields.format,
      source: { type: 'upload', key },
      options,
    });
    await checkArchive(bucket, key);
    return request;
  } catch (err) {
    await bucket.delete(key).catch(() => undefined);
    throw err;
  }
}

/** An import request given as JSON: an upload it names must exist and be an archive (404/400 now, not a failed job). */
async function checkedImportRequest(bucket: Bucket, body: unknown): Promise<ImportRequest> {
  const request = ImportRequestSchema.parse(body);
  if (request.source.type === 'upload') {
    const { key } = request.source;
    if (!(await bucket.stat(key).catch(() => null))) {
      throw new HttpError('not_found', `no uploaded archive ${key} (upload one with a multipart import)`, {
        errors: [{ path: 'source.key', message: 'no such upload', code: 'not_found' }],
      });
    }
    await checkArchive(bucket, key);
  }
  return request;
}

export function registerRoutes(
  service: Service<typeof ingestConfigSpec>,
  { bucket, store, runner, importContext, settings }: IngestDeps,
): void {
  const { config } = service;
  const tags = ['corpora'];

  service.route({
    method: 'post',
    path: '/v1/corpora',
    summary: 'Create a corpus',
    tags,
    request: { body: CreateCorpusRequestSchema },
    responses: {
      201: { description: 'the new corpus manifest', schema: CorpusManifestSchema },
      ...problems(400),
    },
    handler: async ({ body }) => ({ status: 201, body: await store.create(body) }),
  });

  service.route({
    method: 'get',
    path: '/v1/corpora',
    summary: 'List corpora (oldest first, cursor-paged)',
    tags,
    request: { query: PageQuerySchema },
    responses: { 200: { description: 'a page of corpus manifests', schema: pageOf(CorpusManifestSchema) } },
    handler: async ({ query }) => ({ body: await store.list(query.cursor, query.limit) }),
  });

  service.route({
    method: 'get',
    path: '/v1/corpora/:id',
    summary: 'A corpus manifest (counts, options, item parts)',
    tags,
    request: { params: CorpusParams },
    responses: { 200: { description: 'the manifest', schema: CorpusManifestSchema }, ...problems(404) },
    handler: async ({ params }) => ({ body: await store.manifest(params.id) }),
  });

  service.route({
    method: 'get',
    path: '/v1/corpora/:id/items',
    summary: 'Item records, cursor-paged, optionally by status',
    tags,
    request: { params: CorpusParams, query: ItemsQuery },
    responses: {
      200: { description: 'a page of item records', schema: pageOf(ItemRecordSchema) },
      ...problems(400, 404),
    },
    handler: async ({ params, query }) => ({ body: await store.listItems(params.id, query) }),
  });

  service.route({
    method: 'post',
    path: '/v1/corpora/:id/items',
    summary:
      'Upload files with captions (multipart: `caption` fields before each file, or a `captions` JSON map)',
    tags,
    request: {
      params: CorpusParams,
      body: z.object({
        file: z.array(z.string()),
        caption: z.string().optional(),
        captions: z.string().optional(),
      }),
      bodyContentType: 'multipart/form-data',
    },
    responses: {
      200: { description: 'one outcome per file, in request order', schema: UploadResponseSchema },
      ...problems(400, 404, 413, 415, 503),
    },
    handler: async ({ params, req }) => {
      const corpus = new CorpusBatch(bucket, await store.manifest(params.id));
      return {
        body: await receiveUpload(req, settings, corpus, {
          maxFileBytes: config.maxFileBytes,
          maxFiles: config.maxFiles,
          maxFieldBytes: config.maxFieldBytes,
        }),
      };
    },
  });

  service.route({
    method: 'post',
    path: '/v1/corpora/:id/imports',
    summary:
      'Start an import job (JSON ImportRequest, or multipart with an `archive` file and a `format` field)',
    tags,
    // The JSON form is parsed in the handler: the route also takes multipart, which must not be
    // validated as JSON first.
    request: { params: CorpusParams, body: ImportRequestSchema, bodyContentType: 'multipart/form-data' },
    responses: {
      202: { description: 'the queued job', schema: JobRecordSchema },
      ...problems(400, 404, 413),
    },
    handler: async ({ params, req }) => {
      await store.manifest(params.id);
      const multipart = req.is('multipart/form-data');
      const request = multipart
        ? await receiveArchive(req, bucket, {
            maxArchiveBytes: config.maxArchiveBytes,
            maxFieldBytes: config.maxFieldBytes,
          })
        : await checkedImportRequest(bucket, req.body);
      let job: Awaited<ReturnType<typeof submitImport>>;
      try {
        job = await submitImport(runner, importContext, params.id, request);
      } catch (err) {
        // An archive uploaded with this request serves this import only.
        if (multipart && request.source.type === 'upload')
          await bucket.delete(request.source.key).catch(() => undefined);
        throw err;
      }
      return { status: 202, body: job, headers: { Location: `/v1/jobs/${job.id}` } };
    },
  });

  service.route({
    method: 'get',
    path: '/v1/media/thumb/:fan/:file',
    summary: "An image item's thumbnail, by the key in its record (`media.thumbnailKey`)",
    tags,
    request: { params: ThumbnailParams },
    responses: {
      200: { description: 'the thumbnail bytes', contentType: 'image/webp' },
      ...problems(400, 404),
    },
    handler: async ({ params, res }) => {
      const [sha256, ext] = params.file.split('.');
      if (sha256.slice(0, 2) !== params.fan) {
        throw new HttpError('validation', `${params.fan}/${params.file} is not a thumbnail key`);
      }
      const body = await bucket.getStream(keys.thumbnail(sha256, ext));
      res.type(ext);
      // Content-addressed: the bytes under a key never change.
      res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
      body.pipe(res);
      return undefined;
    },
  });

  service.route({
    method: 'get',
    path: '/v1/media/sha256/:fan/:file',
    summary:
      "An item's normalized media, the bytes samples and features refer to, by its key (`media/sha256/...`)",
    tags,
    request: { params: MediaParams },
    responses: {
      200: { description: 'the media bytes', contentType: 'application/octet-stream' },
      ...problems(400, 404),
    },
    handler: async ({ params, res }) => {
      const [sha256, ext] = params.file.split('.');
      if (sha256.slice(0, 2) !== params.fan) {
        throw new HttpError('validation', `${params.fan}/${params.file} is not a media key`);
      }
      const key = keys.media(sha256, ext);
      const { size } = await bucket.stat(key);
      const body = await bucket.getStream(key);
      res.type(ext);
      res.setHeader('Content-Length', String(size));
      // Content-addressed: the bytes under a key never change.
      res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
      body.pipe(res);
      return undefined;
    },
  });

  registerUploadRoutes(service, new UploadSessions(bucket, config.uploadPartBytes));

  // GET /v1/jobs/:id (the record), GET /v1/jobs/:id/events (SSE), list and cancel.
  mountJobRoutes(service, runner, { basePath: '/v1/jobs' });
}

/** Resumable uploads (pipeline/resumable-upload.ts): start, send parts, list them, complete, abort. */
function registerUploadRoutes(service: Service<typeof ingestConfigSpec>, uploads: UploadSessions): void {
  const tags = ['uploads'];
  service.route({
    method: 'post',
    path: '/v1/uploads',
    summary: 'Start a resumable upload (an archive to import); answers its id and part size',
    tags,
    request: { body: CreateUploadRequestSchema },
    responses: { 201: { description: 'the new upload', schema: UploadSessionSchema }, ...problems(400) },
    handler: async ({ body }) => {
      const session = await uploads.create(body.filename);
      return { status: 201, body: session, headers: { Location: `/v1/uploads/${session.id}` } };
    },
  });

  service.route({
    method: 'get',
    path: '/v1/uploads/:id',
    summary: 'An upload and the parts the service holds (a client resumes by sending the others)',
    tags,
    request: { params: UploadParams },
    responses: { 200: { description: 'the upload', schema: UploadSessionSchema }, ...problems(400, 404) },
    handler: async ({ params }) => ({ body: await uploads.get(params.id) }),
  });

  service.route({
    method: 'put',
    path: '/v1/uploads/:id/parts/:n',
    summary:
      'One part (raw bytes, exactly partBytes but the last; optional `Content-Digest: sha-256=:…:` is checked)',
    tags,
    request: { params: PartParams, bodyContentType: 'application/octet-stream' },
    responses: {
      200: { description: 'the stored part', schema: UploadPartSchema },
      ...problems(400, 404, 409, 413),
    },
    handler: async ({ params, req }) => {
      const digest = sha256FromDigestHeader(req.header('content-digest'));
      return { body: await uploads.putPart(params.id, params.n, req, digest) };
    },
  });

  service.route({
    method: 'post',
    path: '/v1/uploads/:id/complete',
    summary: 'Join parts 1..n into the upload object (then name its `key` as an import source)',
    tags,
    request: { params: UploadParams, body: CompleteUploadRequestSchema },
    responses: {
      200: { description: 'the completed upload', schema: UploadSessionSchema },
      ...problems(400, 404),
    },
    handler: async ({ params, body }) => ({ body: await uploads.complete(params.id, body) }),
  });

  service.route({
    method: 'delete',
    path: '/v1/uploads/:id',
    summary: 'Abort an upload: its parts and object are deleted',
    tags,
    request: { params: UploadParams },
    responses: { 204: { description: 'deleted' }, ...problems(400, 404) },
    handler: async ({ params }) => {
      await uploads.abort(params.id);
      return { status: 204 };
    },
  });
}
