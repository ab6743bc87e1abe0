// HTTP API of the trainer service, one declaration per route (validated handler + OpenAPI).
import { ProblemSchema, RunId } from '@mmit/contracts';
import { type Service, streamEvents } from '@mmit/service-kit';
import type { Bucket } from '@mmit/storage';
import { MetricsLineSchema, RunSpecSchema, RunStateSchema, readMetrics } from '@mmit/train';
import { z } from 'zod';
import type { RunManager } from './runs.js';

const tags = ['runs'];
const RunParams = z.object({ id: RunId });
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
