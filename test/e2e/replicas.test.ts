// The launcher with two replicas of a real service (ingest, the cheapest to start): each replica
// is its own process with its own port and MMIT_REPLICA_ID, the gateway spreads requests over
// both (counted by each replica's own /metrics), and after one is killed with SIGKILL every
// request through the gateway still succeeds; restarted, it is back on its port and in the
// rotation.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { servicesForThisFile } from './services.js';

const services = servicesForThisFile('mmit-replicas-', undefined, {
  services: ['ingest'],
  replicas: { ingest: 2 },
  // Checks far apart: after the kill, only the gateway's own retry on the refused connection
  // can keep requests succeeding (the health mechanics have their own test, gateway.test.ts).
  healthIntervalMs: 60_000,
});

const api = (path: string, init?: RequestInit) =>
  fetch(`${services.launched.gatewayUrl}${path}`, { signal: AbortSignal.timeout(30_000), ...init });

/** GET /v1/corpora requests a replica has answered with 200, from its own Prometheus metrics. */
async function corporaListed(replicaUrl: string): Promise<number> {
  const text = await (await fetch(`${replicaUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('http_request_duration_seconds_count{') &&
        l.includes('method="GET"') &&
        l.includes('route="/v1/corpora"') &&
        l.includes('status="200"'),
    );
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function listCorpora(times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const res = await api('/v1/corpora');
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  }
}

test('each replica is its own process, on its own port, with its own MMIT_REPLICA_ID', async () => {
  const replicas = services.launched.replicas('ingest');
  assert.deepEqual(
    replicas.map((r) => [r.id, r.index]),
    [
      ['ingest-0', 0],
      ['ingest-1', 1],
    ],
  );
  assert.notEqual(replicas[0].url, replicas[1].url);
  assert.notEqual(replicas[0].pid, replicas[1].pid);
  assert.equal(services.launched.services.ingest, replicas[0].url);
  assert.equal(services.launched.pids.ingest, replicas[0].pid);
  for (const replica of replicas) {
    const environ = (await readFile(`/proc/${replica.pid}/environ`, 'utf8')).split('\0');
    assert.ok(environ.includes(`MMIT_REPLICA_ID=${replica.id}`), `${replica.id}'s environment`);
    assert.ok(environ.includes(`MMIT_INGEST_PORT=${new URL(replica.url).port}`), `${replica.id}'s port`);
    assert.equal((await fetch(`${replica.url}/readyz`)).status, 200);
  }
});

test('the gateway spreads requests over both replicas', async () => {
  const urls = services.launched.replicas('ingest').map((r) => r.url);
  const before = await Promise.all(urls.map(corporaListed));
  await listCorpora(10);
  const after = await Promise.all(urls.map(corporaListed));
  assert.deepEqual(
    after.map((n, i) => n - before[i]),
    [5, 5],
  );
});

test('after SIGKILL of one replica every request still succeeds; a restart brings it back', async () => {
  const { launched } = services;
  const [, killed] = launched.replicas('ingest');
  await launched.kill('ingest', 1, 'SIGKILL');
  assert.equal(launched.replicas('ingest')[1].pid, undefined);

  // The dead replica refuses its next request (one of the first two POSTs: they take turns), which
  // moves on to the live one.
  const created: string[] = [];
  for (let i = 0; i < 10; i++) {
    const res = await api('/v1/corpora', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: `after-kill-${i}` }),
    });
    assert.equal(res.status, 201, `create ${i}`);
    created.push(((await res.json()) as { id: string }).id);
  }
  await listCorpora(4);
  const ingest1 = () => launched.gateway.status().ingest[1];
  assert.equal(ingest1().ready, false);
  assert.equal(ingest1().reason, 'connection refused');

  const restarted = await launched.restart('ingest', 1);
  assert.equal(restarted.url, killed.url);
  assert.notEqual(restarted.pid, killed.pid);
  assert.equal(ingest1().ready, true);
  const before = await corporaListed(restarted.url);
  await listCorpora(4);
  assert.equal((await corporaListed(restarted.url)) - before, 2);

  // Nothing created while it was down went missing: both replicas read the same bucket.
  for (const id of created) assert.equal((await api(`/v1/corpora/${id}`)).status, 200, id);
});
