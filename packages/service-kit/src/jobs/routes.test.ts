// Job routes over real HTTP, jobs stored in the real embedded S3 server.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type JobRecord, newId } from '@mmit/contracts';
import { startTestStore, type TestStore } from '@mmit/storage/testing';
import { z } from 'zod';
import { createService, type RunningService, type Service } from '../service.js';
import { mountJobRoutes } from './routes.js';
import { JobRunner } from './runner.js';

let store: TestStore;
let service: Service;
let runner: JobRunner;
let running: RunningService;
let release: () => void = () => {};

before(async () => {
  store = await startTestStore({ name: 'jobroutes', bucket: 'jobroutes' });
  const { bucket } = store;
  service = createService({
    name: 'jobtest',
    version: '0',
    defaultPort: 0,
    env: { MMIT_LOG_LEVEL: 'silent' },
  });
  runner = new JobRunner({
    bucket,
    service: 'jobtest',
    logger: service.logger,
    progressIntervalMs: 20,
    pollMs: 50,
  });
  runner.define('steps', {
    params: z.object({ steps: z.number().int().positive(), waitForRelease: z.boolean().default(false) }),
    async run({ params, progress, signal }) {
      progress.setTotal(params.steps);
      if (params.waitForRelease) {
        await new Promise<void>((resolve, reject) => {
          release = resolve;
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      }
      for (let i = 0; i < params.steps; i++) {
        await new Promise((r) => setTimeout(r, 15));
        progress.advance();
      }
      return { steps: params.steps };
    },
  });
  mountJobRoutes(service, runner, { heartbeatMs: 30, pollMs: 50 });
  service.onShutdown(() => runner.stop());
  running = await service.listen();
  await runner.start();
});

after(async () => {
  release();
  await running?.close();
  await store?.stop();
});

/** Reads an SSE response into events (and counts heartbeats) until the stream ends. */
async function readEvents(res: Response) {
  const events: { event: string; data: JobRecord }[] = [];
  let heartbeats = 0;
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith(': heartbeat')) heartbeats++;
      else {
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null');
        events.push({ event, data });
      }
      end = buffer.indexOf('\n\n');
    }
  }
  return { events, heartbeats };
}

test('GET /jobs/:id reads a job; unknown and malformed ids are problems', async () => {
  const job = await runner.submit('steps', { steps: 2 });
  await runner.idle();
  const res = await fetch(`${running.url}/jobs/${job.id}`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as JobRecord;
  assert.equal(body.status, 'succeeded');
  assert.deepEqual(body.result, { steps: 2 });

  const missing = await fetch(`${running.url}/jobs/${newId('job')}`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { code: string }).code, 'not_found');
  const malformed = await fetch(`${running.url}/jobs/not-an-id`);
  assert.equal(malformed.status, 400);
  const missingEvents = await fetch(`${running.url}/jobs/${newId('job')}/events`);
  assert.equal(missingEvents.status, 404, 'an unknown job is a 404, not an empty stream');
  await missingEvents.body?.cancel();
});

test('GET /jobs pages with a cursor', async () => {
  await runner.submit('steps', { steps: 1 });
  await runner.idle();
  const page = await fetch(`${running.url}/jobs?limit=1`);
  const body = (await page.json()) as { items: JobRecord[]; nextCursor: string | null };
  assert.equal(body.items.length, 1);
  assert.ok(body.nextCursor);
  const bad = await fetch(`${running.url}/jobs?limit=0`);
  assert.equal(bad.status, 400);
});

test('SSE follows a job from queued to succeeded with rising progress, with heartbeats while it waits', async () => {
  const job = await runner.submit('steps', { steps: 8, waitForRelease: true });
  const res = await fetch(`${running.url}/jobs/${job.id}/events`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reading = readEvents(res);
  // Release only once the handler is waiting (its `release` is set then), and heartbeats had time.
  await new Promise((r) => setTimeout(r, 100));
  while ((await runner.get(job.id)).status !== 'running') await new Promise((r) => setTimeout(r, 10));
  release();
  const { events, heartbeats } = await reading;
  assert.ok(heartbeats >= 1, 'heartbeats flow while the job waits');
  assert.ok(events.every((e) => e.event === 'job'));
  const last = events.at(-1)!.data;
  assert.equal(last.status, 'succeeded');
  assert.equal(last.progress.done, 8);
  const done = events.map((e) => e.data.progress.done);
  assert.deepEqual(
    done,
    [...done].sort((a, b) => a - b),
  );
  assert.ok(events.length >= 3, `events: ${events.length}`);
});

test('POST /jobs/:id/cancel cancels a running job', async () => {
  const job = await runner.submit('steps', { steps: 1, waitForRelease: true });
  while ((await runner.get(job.id)).status !== 'running') await new Promise((r) => setTimeout(r, 10));
  const res = await fetch(`${running.url}/jobs/${job.id}/cancel`, { method: 'POST' });
  assert.equal(res.status, 202);
  assert.equal(((await res.json()) as JobRecord).cancelRequested, true);
  await runner.idle();
  const after = (await (await fetch(`${running.url}/jobs/${job.id}`)).json()) as JobRecord;
  assert.equal(after.status, 'cancelled');
});

test('the OpenAPI document has the job routes', () => {
  const doc = service.openapi.document({ title: 'jobtest', version: '0' });
  for (const path of ['/jobs', '/jobs/{jobId}', '/jobs/{jobId}/events', '/jobs/{jobId}/cancel']) {
    assert.ok(doc.paths[path], path);
  }
  const events = doc.paths['/jobs/{jobId}/events'].get as { responses: Record<string, { content: object }> };
  assert.ok('text/event-stream' in events.responses['200'].content);
});
