// HTTP API of the trainer service, one declaration per route (validated handler + OpenAPI).
import { pipeline } from 'node:stream/promises';
import {
  ExportFilePathSchema,
  ExportRequestSchema,
  JobId,
  keys,
  ProblemSchema,
  RunExportSchema,
  RunId,
} from '@mmit/contracts';
import { HttpError, type Service, streamEvents } from '@mmit/service-kit';
import type { Bucket } from '@mmit/storage';
import { MetricsLineSchema, RunSpecSchema, RunStateSchema, readMetrics } from '@mmit/train';
import { z } from 'zod';
import type { ExportManager } from './exports.js';
import type { RunManager } from './runs.js';

const tags = ['runs'];
const RunParams = z.object({ id: RunId });
const EventFileParams = z.object({
  id: RunId,
  file: z
    .string()
    .regex(/^events\.out\.tfevents\.[A-Za-z0-9.-]+$/, { message: 'expected an event file name' }),
});
export const EventFileInfoSchema = z
  .object({ name: z.string(), size: z.number().int().nonnegative(), lastModified: z.iso.datetime() })
  .meta({ id: 'EventFileInfo' });
const ExportParams = z.object({ id: RunId, exportId: JobId });
const problems = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { description: 'problem+json', schema: ProblemSchema }]));

export function registerRoutes(
  service: Service,
  runs: RunManager,
  exports: ExportManager,
  bucket: Bucket,
): void {
  service
    .route({
      method: 'post',
      path: '/v1/runs',
      summary: 'Start a training run (validated against the dataset, the LM and the encoder first)',
      tags,
      request: { body: RunSpecSchema },
      responses: {
        202: { description: 'The queued run', schema: RunStateSchema },
        ...problems(400, 404, 422),
      },
      handler: async ({ body }) => {
        const state = await runs.create(body);
        return { status: 202, body: state, headers: { location: `/v1/runs/${state.id}` } };
      },
    })
    .route({
      method: 'get',
      path: '/v1/runs',
      summary: 'Every run, newest first',
      tags,
      responses: { 200: { description: 'Runs', schema: z.object({ items: z.array(RunStateSchema) }) } },
      handler: async () => ({ body: { items: await runs.list() } }),
    })
    .route({
      method: 'get',
      path: '/v1/runs/:id',
      summary: "A run's state: status, step, latest loss/lr/throughput/ETA, last eval and checkpoint",
      tags,
      request: { params: RunParams },
      responses: { 200: { description: 'State', schema: RunStateSchema }, ...problems(404) },
      handler: async ({ params }) => ({ body: await runs.get(params.id) }),
    })
    .route({
      method: 'get',
      path: '/v1/runs/:id/spec',
      summary: 'The spec a run was started with (defaults filled in)',
      tags,
      request: { params: RunParams },
      responses: { 200: { description: 'Spec', schema: RunSpecSchema }, ...problems(404) },
      handler: async ({ params }) => ({ body: await runs.spec(params.id) }),
    })
    .route({
      method: 'get',
      path: '/v1/runs/:id/metrics',
      summary: 'Every step and eval line of metrics.jsonl, as JSON',
      tags,
      request: { params: RunParams },
      responses: {
        200: { description: 'Metrics', schema: z.object({ items: z.array(MetricsLineSchema) }) },
        ...problems(404),
      },
      handler: async ({ params }) => {
        await runs.get(params.id);
        return { body: { items: await readMetrics(bucket, params.id) } };
      },
    })
    .route({
      method: 'get',
      path: '/v1/runs/:id/tensorboard',
      summary: "The run's TensorBoard event files (one per attempt), in the order TensorBoard reads them",
      tags,
      request: { params: RunParams },
      responses: {
        200: { description: 'Event files', schema: z.object({ items: z.array(EventFileInfoSchema) }) },
        ...problems(404),
      },
      handler: async ({ params }) => {
        await runs.get(params.id);
        const items: z.infer<typeof EventFileInfoSchema>[] = [];
        const prefix = keys.runTensorboardPrefix(params.id);
        for await (const o of bucket.list(prefix)) {
          items.push({
            name: o.key.slice(prefix.length),
            size: o.size,
            lastModified: o.lastModified.toISOString(),
          });
        }
        return { body: { items: items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) } };
      },
    })
    .route({
      method: 'get',
      path: '/v1/runs/:id/tensorboard/:file',
      summary: 'One TensorBoard event file, as stored (TFRecords of Event protobufs)',
      tags,
      request: { params: EventFileParams },
      responses: {
        200: { description: 'event file', contentType: 'application/octet-stream' },
        ...problems(404),
      },
      handler: async ({ params, res }) => {
        let key: string;
        try {
          key = keys.runTensorboardFile(params.id, params.file);
        } catch {
          throw new HttpError('not_found', `run ${params.id} has no event file ${params.file}`);
        }
        const body = await bucket.getBuffer(key);
        res.type('application/octet-stream').send(body);
        return undefined;
      },
    })
    .route({
      method: 'get',
      path: '/v1/runs/:id/events',
      summary:
        'Server-sent events: `state`, then `step` (loss, lr, grad norm, tokens/s, samples/s, ETA) and `eval` as they happen',
      tags,
      request: { params: RunParams },
      responses: { 200: { description: 'event stream', contentType: 'text/event-stream' }, ...problems(404) },
      handler: async ({ params, req, res }) => {
        await runs.get(params.id);
        await streamEvents(
          req,
          res,
          async function* (signal) {
            for await (const event of runs.watch(params.id, signal)) {
              yield { event: event.type, data: event.type === 'state' ? event.state : event.metrics };
            }
          },
          { signal: service.shutdownSignal },
        );
        return undefined;
      },
    })
    .route({
      method: 'post',
      path: '/v1/runs/:id/cancel',
      summary: 'Cancel a run (a running one stops before its next step; its checkpoints stay)',
      tags,
      request: { params: RunParams },
      responses: { 202: { description: 'State', schema: RunStateSchema }, ...problems(404) },
      handler: async ({ params }) => ({ status: 202, body: await runs.cancel(params.id) }),
    })
    .route({
      method: 'post',
      path: '/v1/runs/:id/resume',
      summary: 'Resume a cancelled or failed run from its last checkpoint',
      tags,
      request: { params: RunParams },
      responses: { 202: { description: 'State', schema: RunStateSchema }, ...problems(404, 409) },
      handler: async ({ params }) => ({ status: 202, body: await runs.resume(params.id) }),
    })
    .route({
      method: 'post',
      path: '/v1/runs/:id/exports',
      summary:
        'Export a run as a Hugging Face LLaVA folder and/or a transformers.js ONNX folder, into the bucket (a job); the run, checkpoint and folders are checked first',
      tags,
      request: { params: RunParams, body: ExportRequestSchema },
      responses: {
        202: { description: 'The queued export', schema: RunExportSchema },
        ...problems(400, 404, 409),
      },
      handler: async ({ params, body }) => {
        const created = await exports.create(params.id, body);
        return {
          status: 202,
          body: created,
          headers: { location: `/v1/runs/${params.id}/exports/${created.id}` },
        };
      },
    })
    .route({
      method: 'get',
      path: '/v1/runs/:id/exports',
      summary: "A run's exports, newest first",
      tags,
      request: { params: RunParams },
      responses: { 200: { description: 'Exports', schema: z.object({ items: z.array(RunExportSchema) }) } },
      handler: async ({ params }) => ({ body: { items: await exports.list(params.id) } }),
    })
    .route({
      method: 'get',
      path: '/v1/runs/:id/exports/:exportId',
      summary:
        'An export: status, progress (bytes), error, and once it has succeeded its manifest (files, sizes, sha256)',
      tags,
      request: { params: ExportParams },
      responses: { 200: { description: 'The export', schema: RunExportSchema }, ...problems(404) },
      handler: async ({ params }) => ({ body: await exports.get(params.id, params.exportId) }),
    })
    .route({
      method: 'get',
      path: '/v1/runs/:id/exports/:exportId/events',
      summary: 'Server-sent `export` events with the export on each change, until it ends',
      tags,
      request: { params: ExportParams },
      responses: { 200: { description: 'event stream', contentType: 'text/event-stream' }, ...problems(404) },
      handler: async ({ params, req, res }) => {
        // Resolved first, so an unknown export is a 404 problem rather than an empty stream.
        await exports.get(params.id, params.exportId);
        await streamEvents(
          req,
          res,
          async function* (signal) {
            for await (const found of exports.watch(params.id, params.exportId, signal)) {
              yield { event: 'export', id: found.updatedAt, data: found };
            }
          },
          { signal: service.shutdownSignal },
        );
        return undefined;
      },
    })
    .route({
      method: 'get',
      path: '/v1/runs/:id/exports/:exportId/file',
      summary:
        "One file of a finished export (`path` as its manifest lists it); `Range: bytes=N-` resumes it (files never change; ETag is the file's sha256)",
      tags,
      request: { params: ExportParams, query: z.object({ path: ExportFilePathSchema }) },
      responses: {
        200: { description: 'The file', contentType: 'application/octet-stream' },
        206: { description: 'The requested range of the file', contentType: 'application/octet-stream' },
        ...problems(404, 409, 416),
      },
      handler: async ({ params, query, req, res }) => {
        const { file, key } = await exports.file(params.id, params.exportId, query.path);
        const range = byteRange(req.headers.range, file.size);
        res.setHeader('content-type', 'application/octet-stream');
        res.setHeader('accept-ranges', 'bytes');
        res.setHeader('etag', `"${file.sha256}"`);
        if (range) {
          res.status(206);
          res.setHeader('content-range', `bytes ${range.start}-${range.end}/${file.size}`);
          res.setHeader('content-length', String(range.end - range.start + 1));
        } else {
          res.setHeader('content-length', String(file.size));
        }
        const body =
          range && range.end >= range.start
            ? await bucket.getStream(key, { offset: range.start, length: range.end - range.start + 1 })
            : file.size === 0
              ? undefined
              : await bucket.getStream(key);
        if (!body) {
          res.end();
          return undefined;
        }
        // A client that goes away ends the pipeline, which destroys the bucket's stream too.
        await pipeline(body, res).catch((err: unknown) => {
          if (!res.destroyed) throw err;
        });
        return undefined;
      },
    });
}

/** The one range of a `Range: bytes=a-b` / `bytes=a-` header (what a resuming client sends), or none. */
function byteRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  const start = match ? Number(match[1]) : Number.NaN;
  const end = match?.[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
  if (!match || start >= size || end < start) {
    throw new HttpError(
      'range_not_satisfiable',
      `range ${header} is not one range inside the file's ${size} bytes`,
      {
        headers: { 'content-range': `bytes */${size}` },
      },
    );
  }
  return { start, end };
}
