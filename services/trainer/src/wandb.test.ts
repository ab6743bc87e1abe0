// The W&B logger against a local server that answers the two endpoints it calls the way W&B's
// API does (GraphQL upsertBucket; POST /files/<entity>/<project>/<run>/file_stream), checking the
// auth, the run's config and the history rows; and a W&B that fails never fails the run.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RunState } from '@mmit/contracts';
import { TEST_ENCODER_KEY } from '@mmit/train/testing';
import { fixturesDir } from '../../../test/paths.js';
import { type Harness, startHarness } from './testing/harness.js';

interface Received {
  path: string;
  auth: string | undefined;
  body: Record<string, unknown>;
}

/** A W&B stand-in: records every request; `failures` answers that many requests with 500 first. */
function fakeWandb(state: {
  failures: number;
  received: Received[];
}): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      state.received.push({ path: req.url ?? '', auth: req.headers.authorization, body });
      if (state.failures > 0) {
        state.failures -= 1;
        res.writeHead(500).end('{"error":"overloaded"}');
        return;
      }
      res.setHeader('content-type', 'application/json');
      if (req.url === '/graphql') {
        const v = body.variables as { name: string; project: string };
        res.end(
          JSON.stringify({
            data: {
              upsertBucket: {
                bucket: {
                  name: v.name,
                  historyLineCount: 0,
                  project: { name: v.project, entity: { name: 'team-x' } },
                },
              },
            },
          }),
        );
      } else res.end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

const wandb = { failures: 0, received: [] as Received[] };
let h: Harness;
let server: Server;
before(async () => {
  const fake = await fakeWandb(wandb);
  server = fake.server;
  h = await startHarness({
    env: { WANDB_API_KEY: 'k-123', WANDB_PROJECT: 'proj', WANDB_BASE_URL: fake.url },
  });
});
after(async () => {
  await h?.close();
  server?.close();
});

async function train(steps: number): Promise<{ id: string; state: RunState }> {
  const res = await fetch(`${h.url}/v1/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'wb',
      datasetId: h.datasetId,
      encoder: { key: TEST_ENCODER_KEY },
      lm: { checkpoint: join(fixturesDir, 'tiny-llama') },
      batchSize: 4,
      steps,
      evalEvery: steps,
      threads: 1,
    }),
  });
  const { id } = (await res.json()) as RunState;
  for (;;) {
    const state = (await (await fetch(`${h.url}/v1/runs/${id}`)).json()) as RunState;
    if (['succeeded', 'failed', 'cancelled'].includes(state.status)) {
      // The W&B run is finished after the run's own end is stored: wait for that message.
      for (let i = 0; i < 200 && !wandb.received.some((r) => r.body.complete === true); i++)
        await new Promise((r) => setTimeout(r, 50));
      return { id, state };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a run is created in W&B with its spec as config, and its history rows are the metrics lines', async () => {
  wandb.received.length = 0;
  const { id, state } = await train(3);
  assert.equal(state.status, 'succeeded', state.message);
  const [create, ...streamed] = wandb.received;
  assert.equal(create.path, '/graphql');
  assert.equal(create.auth, `Basic ${Buffer.from('api:k-123').toString('base64')}`);
  const vars = create.body.variables as Record<string, string>;
  assert.equal(vars.name, id.toLowerCase());
  assert.equal(vars.project, 'proj');
  assert.equal(vars.displayName, 'wb');
  const config = JSON.parse(vars.config) as Record<string, { value: unknown }>;
  assert.equal(config.steps.value, 3);
  assert.equal(config.mmitRunId.value, id);
  const path = `/files/team-x/proj/${id.toLowerCase()}/file_stream`;
  assert.ok(streamed.every((r) => r.path === path));
  const history: { offset: number; content: string[] }[] = streamed.flatMap((r) => {
    const files = r.body.files as Record<string, { offset: number; content: string[] }> | undefined;
    return files ? [files['wandb-history.jsonl']] : [];
  });
  const rows = history.flatMap((h) => h.content.map((l) => JSON.parse(l) as Record<string, number>));
  // Offsets are line numbers: each push starts where the previous ended.
  let next = 0;
  for (const push of history) {
    assert.equal(push.offset, next);
    next += push.content.length;
  }
  const metrics = (await (await fetch(`${h.url}/v1/runs/${id}/metrics`)).json()) as {
    items: { type: string; step: number; loss: number }[];
  };
  assert.deepEqual(
    rows.filter((r) => 'train/loss' in r).map((r) => [r._step, r['train/loss']]),
    metrics.items.filter((l) => l.type === 'step').map((l) => [l.step, l.loss]),
  );
  assert.deepEqual(
    rows.filter((r) => 'eval/loss' in r).map((r) => r._step),
    [0, 3],
  );
  assert.deepEqual(streamed.at(-1)?.body, { complete: true, exitcode: 0 });
});

test('W&B answering 500 does not fail the run; rows are sent once it answers again', async () => {
  wandb.received.length = 0;
  wandb.failures = 1; // creating the W&B run fails; it is tried again (at the latest when the run ends)
  const { state } = await train(3);
  assert.equal(state.status, 'succeeded', state.message);
  const creates = wandb.received.filter((r) => r.path === '/graphql');
  assert.ok(creates.length >= 2, `creation retried (${creates.length} tries)`);
  const steps = wandb.received
    .flatMap(
      (r) => (r.body.files as Record<string, { content: string[] }>)?.['wandb-history.jsonl']?.content ?? [],
    )
    .filter((l) => l.includes('train/loss'));
  assert.equal(steps.length, 3);
  assert.deepEqual(wandb.received.at(-1)?.body, { complete: true, exitcode: 0 });
});
