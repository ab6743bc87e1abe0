// HTTP routes over a job runner: list, read, follow (SSE) and cancel. Routes that start jobs
// belong to each service (they know the kind and the params); they answer 202 with the record.
import { JobId, JobRecordSchema, PageQuerySchema, pageOf } from '@mmit/contracts';
import { z } from 'zod';
import type { Service } from '../service.js';
import { streamEvents } from '../sse.js';
import type { JobRunner } from './runner.js';

const JobParams = z.object({ jobId: JobId });

export interface JobRoutesOptions {
  /** Default `/jobs`. */
  basePath?: string;
  /** Interval of SSE heartbeats (default 15 s). */
  heartbeatMs?: number;
  /** How often a follower polls the bucket for jobs running in another process (default 1 s). */
  pollMs?: number;
}

export function mountJobRoutes(service: Service, runner: JobRunner, options: JobRoutesOptions = {}): void {
  const base = options.basePath ?? '/jobs';
  const tags = ['jobs'];
  service
    .route({
      method: 'get',
      path: base,
      summary: 'List jobs (creation order)',
      tags,
      request: { query: PageQuerySchema },
      responses: { 200: { description: 'A page of jobs', schema: pageOf(JobRecordSchema) } },
      handler: async ({ query }) => ({ body: await runner.list(query) }),
    })
    .route({
      method: 'get',
      path: `${base}/:jobId`,
      summary: 'Read a job: status, progress (counts, rate, ETA), result or error',
      tags,
      request: { params: JobParams },
      responses: { 200: { description: 'The job', schema: JobRecordSchema } },
      handler: async ({ params }) => ({ body: await runner.get(params.jobId) }),
    })
    .route({
      method: 'get',
      path: `${base}/:jobId/events`,
      summary: 'Follow a job: server-sent `job` events with the record on each change, until it ends',
      tags,
      request: { params: JobParams },
      responses: {
        200: {
          description: 'text/event-stream of `event: job` with the JobRecord as data',
          contentType: 'text/event-stream',
        },
      },
      handler: async ({ params, req, res }) => {
        // Resolve the job first so an unknown id is a 404 problem, not an empty stream.
        await runner.get(params.jobId);
        await streamEvents(
          req,
          res,
          async function* (signal) {
            for await (const record of runner.watch(params.jobId, signal, options.pollMs)) {
              yield { event: 'job', id: record.updatedAt, data: record };
            }
          },
          { heartbeatMs: options.heartbeatMs, signal: service.shutdownSignal },
        );
        return undefined;
      },
    })
    .route({
      method: 'post',
      path: `${base}/:jobId/cancel`,
      summary: 'Cancel a job (queued: at once; running: when it next checks)',
      tags,
      request: { params: JobParams },
      responses: {
        202: { description: 'The job, cancelled or with cancelRequested set', schema: JobRecordSchema },
      },
      handler: async ({ params }) => ({ status: 202, body: await runner.cancel(params.jobId) }),
    });
}
