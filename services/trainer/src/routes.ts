// HTTP API of the trainer service, one declaration per route (validated handler + OpenAPI).
import { keys, ProblemSchema, RunId } from '@mmit/contracts';
import { HttpError, type Service, streamEvents } from '@mmit/service-kit';
import type { Bucket } from '@mmit/storage';
import { MetricsLineSchema, RunSpecSchema, RunStateSchema, readMetrics } from '@mmit/train';
import { z } from 'zod';
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
const problems = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { description: 'problem+json', schema: ProblemSchema }]));

export function registerRoutes(service: Service, runs: RunManager, bucket: Bucket): void {
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
    });
}
