// The gateway's balancing and health mechanics, against small real HTTP servers standing in for
// the replicas of one service (each answers /readyz as told and says who it is): requests take
// turns, a replica failing /readyz leaves the rotation and comes back when it passes, a refused
// connection moves the request (body and all) to another replica, a reset is retried only for
// GET, responses stream through unbuffered, with no replica ready the ones still answering are
// used, and with none answering the answer is a 503 problem naming the service. An upstream URL whose host is a name brings one replica per address
// it resolves to, each under the same rules, and the addresses follow DNS. The launcher test
// (replicas.test.ts) does the same with real service processes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { type Gateway, startGateway } from '../../infra/gateway.js';

interface StandIn {
  id: string;
  url: string;
  /** What /readyz answers. */
  readyStatus: number;
  /** Cut every request but /readyz once it has arrived, as a process dying mid-request would. */
  cutsRequests: boolean;
  /** Requests other than /readyz, in arrival order. */
  seen: { method: string; path: string }[];
  /** Lets a held SSE stream send its last event. */
  release(): void;
  /** SSE streams and unanswered requests whose connection has closed. */
  streamsClosed: number;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stand-in replica listening on `host` (a loopback address) and `port` (0: a free one). */
async function standIn(id: string, host = '127.0.0.1', port = 0): Promise<StandIn> {
  let release: () => void = () => undefined;
  const stand: StandIn = {
    id,
    url: '',
    readyStatus: 200,
    cutsRequests: false,
    seen: [],
    streamsClosed: 0,
    release: () => release(),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server: Server = createServer(async (req, res) => {
    const path = req.url ?? '/';
    if (path === '/readyz') {
      res.writeHead(stand.readyStatus).end();
      return;
    }
    stand.seen.push({ method: req.method ?? '', path });
    if (stand.cutsRequests) {
      await readBody(req);
      req.socket.destroy();
      return;
    }
    if (path.startsWith('/v1/jobs/silent')) {
      // Never answers, as a replica busy for a long time.
      res.on('close', () => stand.streamsClosed++);
      return;
    }
    if (path.startsWith('/v1/jobs/events')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: first\ndata: ${id}\n\n`);
      res.on('close', () => stand.streamsClosed++);
      release = () => res.end('event: last\ndata: done\n\n');
      return;
    }
    const body = await readBody(req);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        replica: id,
        method: req.method,
        bytes: body.length,
        sha256: createHash('sha256').update(body).digest('hex'),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  stand.url = `http://${host}:${(server.address() as AddressInfo).port}`;
  return stand;
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** Stand-ins for `ids` as the replicas of ingest, behind a gateway checking every `intervalMs`. */
async function ingestReplicas(
  ids: string[],
  intervalMs: number,
): Promise<{ gateway: Gateway; stands: StandIn[] }> {
  const stands = await Promise.all(ids.map((id) => standIn(id)));
  const gateway = await startGateway({
    port: 0,
    services: { ingest: stands.map((s) => ({ id: s.id, url: s.url })) },
    healthIntervalMs: intervalMs,
  });
  cleanups.push(async () => {
    await gateway.close();
    for (const s of stands) await s.close();
  });
  await gateway.checkNow();
  return { gateway, stands };
}

async function whoAnswers(gateway: Gateway, n: number): Promise<string[]> {
  const who: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${gateway.url}/v1/corpora`);
    assert.equal(res.status, 200);
    who.push(((await res.json()) as { replica: string }).replica);
  }
  return who;
}

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const readyIds = (gateway: Gateway) =>
  gateway
    .status()
    .ingest.filter((r) => r.ready)
    .map((r) => r.id);

test('requests take turns over the ready replicas', async () => {
  const { gateway } = await ingestReplicas(['a', 'b', 'c'], 60_000);
  const who = await whoAnswers(gateway, 9);
  assert.deepEqual(
    ['a', 'b', 'c'].map((id) => who.filter((w) => w === id).length),
    [3, 3, 3],
  );
});

test('a replica failing /readyz leaves the rotation at the next check and returns when it passes', async () => {
  const { gateway, stands } = await ingestReplicas(['a', 'b'], 100);
  const [, b] = stands;
  b.readyStatus = 503;
  await until('b out of the rotation', () => !readyIds(gateway).includes('b'));
  assert.deepEqual(new Set(await whoAnswers(gateway, 6)), new Set(['a']));
  assert.match(gateway.status().ingest.find((r) => r.id === 'b')!.reason!, /503/);

  b.readyStatus = 200;
  await until('b back in the rotation', () => readyIds(gateway).includes('b'));
  assert.deepEqual(new Set(await whoAnswers(gateway, 6)), new Set(['a', 'b']));
});

test('a replica whose process is gone is taken out by the health check alone', async () => {
  const { gateway, stands } = await ingestReplicas(['a', 'b'], 100);
  await stands[1].close();
  // A check racing the close may see the connection reset first; the next one is refused.
  await until(
    'b out of the rotation, refused',
    () => gateway.status().ingest.find((r) => r.id === 'b')!.reason === 'connection refused',
  );
  assert.ok(!readyIds(gateway).includes('b'));
});

test('a refused connection moves the request, body included, to another replica', async () => {
  // Checks far apart: only the refusals themselves can take the closed replica out.
  const { gateway, stands } = await ingestReplicas(['a', 'b', 'c'], 60_000);
  await stands[1].close();
  const small = Buffer.from(JSON.stringify({ name: 'x' }));
  // Larger than any buffer: it flows only once a connection is open, so a refusal loses none of it.
  const large = Buffer.alloc(8 * 1024 * 1024, 7);
  const answers: { replica: string; bytes: number; sha256: string }[] = [];
  for (const body of [small, small, large, large]) {
    const res = await fetch(`${gateway.url}/v1/corpora`, { method: 'POST', body });
    assert.equal(res.status, 200);
    const answer = (await res.json()) as { replica: string; bytes: number; sha256: string };
    assert.equal(answer.bytes, body.length);
    assert.equal(answer.sha256, createHash('sha256').update(body).digest('hex'));
    answers.push(answer);
  }
  assert.ok(answers.every((a) => a.replica !== 'b'));
  assert.deepEqual(readyIds(gateway), ['a', 'c']);
  assert.equal(gateway.status().ingest[1].reason, 'connection refused');
});

test('a reset before any answer is retried for GET, never for POST', async () => {
  const { gateway, stands } = await ingestReplicas(['cuts', 'answers'], 60_000);
  const [cuts, answers] = stands;
  cuts.cutsRequests = true;
  // Turns start at `cuts`: the GET is cut there and answered by the other replica.
  const get = await fetch(`${gateway.url}/v1/corpora`);
  assert.equal(get.status, 200);
  assert.equal(((await get.json()) as { replica: string }).replica, 'answers');
  // The POST's turn is `cuts` again: it may have acted before dying, so the POST is not replayed.
  const post = await fetch(`${gateway.url}/v1/corpora`, {
    method: 'POST',
    body: '{"name":"once"}',
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(post.status, 502);
  assert.equal(post.headers.get('content-type'), 'application/problem+json');
  const problem = (await post.json()) as { code: string; detail: string; service: string };
  assert.equal(problem.code, 'bad_gateway');
  assert.equal(problem.service, 'ingest');
  assert.match(problem.detail, /cuts/);
  assert.deepEqual(cuts.seen, [
    { method: 'GET', path: '/v1/corpora' },
    { method: 'POST', path: '/v1/corpora' },
  ]);
  assert.deepEqual(answers.seen, [{ method: 'GET', path: '/v1/corpora' }]);
});

test('server-sent events stream through as they are written', async () => {
  const { gateway, stands } = await ingestReplicas(['a'], 60_000);
  const res = await fetch(`${gateway.url}/v1/jobs/events`);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const reader = res.body!.getReader();
  // The replica holds the stream open after its first event: a buffering proxy would wait here.
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.match(first, /event: first\ndata: a/);
  stands[0].release();
  let rest = '';
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
    rest += new TextDecoder().decode(chunk.value);
  assert.match(rest, /event: last\ndata: done/);
});

test('a client that goes away closes its request to the replica too, answered or not', async () => {
  const { gateway, stands } = await ingestReplicas(['a'], 60_000);
  const streaming = new AbortController();
  const res = await fetch(`${gateway.url}/v1/jobs/events`, { signal: streaming.signal });
  await res.body!.getReader().read();
  streaming.abort();
  await until('the replica sees its stream closed', () => stands[0].streamsClosed === 1);

  const waiting = new AbortController();
  const unanswered = fetch(`${gateway.url}/v1/jobs/silent`, { signal: waiting.signal });
  await until('the request reached the replica', () => stands[0].seen.length === 2);
  waiting.abort();
  await assert.rejects(unanswered);
  await until('the replica sees the unanswered request closed', () => stands[0].streamsClosed === 2);
});

test('with no replica ready, the ones still answering get the requests (panic routing); none answering is a 503 naming the service', async () => {
  const { gateway, stands } = await ingestReplicas(['a', 'b'], 100);
  for (const s of stands) s.readyStatus = 503;
  await until('no replica ready', () => readyIds(gateway).length === 0);
  // Busy replicas failing their readiness check still serve: the service does not disappear.
  assert.deepEqual(new Set(await whoAnswers(gateway, 4)), new Set(['a', 'b']));

  for (const s of stands) await s.close();
  await until('no replica alive', () => gateway.status().ingest.every((r) => !r.alive));
  const res = await fetch(`${gateway.url}/v1/corpora`, { method: 'POST', body: '{}' });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  assert.equal(res.headers.get('retry-after'), '1');
  const problem = (await res.json()) as { code: string; status: number; detail: string; service: string };
  assert.equal(problem.code, 'not_ready');
  assert.equal(problem.status, 503);
  assert.equal(problem.service, 'ingest');
  assert.match(problem.detail, /no ready replica of ingest/);
});

test('paths whose service is not in the stack are 404 problems; OpenAI paths get OpenAI errors', async () => {
  const { gateway } = await ingestReplicas(['a'], 60_000);
  const res = await fetch(`${gateway.url}/v1/runs`);
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  assert.match(((await res.json()) as { detail: string }).detail, /trainer is not running/);
  // An OpenAI client reads {error: {message, type, param, code}}: on serve's paths and on /v1
  // paths no service serves (an endpoint this stack lacks), whichever hop answers.
  for (const [path, message] of [
    ['/v1/nothing-here', /no service serves \/v1\/nothing-here/],
    ['/v1/embeddings', /no service serves \/v1\/embeddings/],
    ['/v1/chat/completions', /serve is not running/],
  ] as const) {
    const openai = await fetch(`${gateway.url}${path}`, { method: 'POST', body: '{}' });
    assert.equal(openai.status, 404, path);
    assert.equal(openai.headers.get('content-type'), 'application/json');
    const { error } = (await openai.json()) as { error: Record<string, unknown> };
    assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type']);
    assert.equal(error.type, 'not_found_error');
    assert.equal(error.code, 'unknown_url');
    assert.equal(error.param, null);
    assert.match(String(error.message), message);
  }
});

test("serve's paths with no replica answering are a 503 in OpenAI's shape", async () => {
  const down = await standIn('serve-down');
  await down.close();
  const gateway = await startGateway({
    port: 0,
    services: { serve: [{ id: 'serve-down', url: down.url }] },
    healthIntervalMs: 60_000,
  });
  cleanups.push(() => gateway.close());
  const res = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '1');
  const { error } = (await res.json()) as { error: Record<string, unknown> };
  assert.equal(error.type, 'server_error');
  assert.equal(error.code, 'service_unavailable');
  assert.match(String(error.message), /no ready replica of serve/);
});

test('a host name brings one replica per address, each health-checked and retried like the others', async () => {
  // Two replicas behind the name `ingest.test` (one port, two loopback addresses, as compose's
  // replicas of one service) beside one replica given by address.
  const direct = await standIn('direct');
  const named1 = await standIn('named-1', '127.0.0.1');
  const port = Number(new URL(named1.url).port);
  const named2 = await standIn('named-2', '127.0.0.2', port);
  let dns: () => Promise<string[]> = async () => ['127.0.0.2', '127.0.0.1'];
  const looked: string[] = [];
  const gateway = await startGateway({
    port: 0,
    services: {
      ingest: [
        { id: 'direct', url: direct.url },
        { id: 'named', url: `http://ingest.test:${port}` },
      ],
    },
    healthIntervalMs: 100,
    // Far apart: only checkNow() looks the name up again, so each DNS change below takes effect there.
    resolveIntervalMs: 60_000,
    resolveAll: (hostname) => {
      looked.push(hostname);
      return dns();
    },
  });
  cleanups.push(async () => {
    await gateway.close();
    for (const s of [direct, named1, named2]) await s.close();
  });
  await gateway.checkNow();
  assert.deepEqual(new Set(looked), new Set(['ingest.test']));
  assert.deepEqual(
    gateway.status().ingest.map((r) => [r.id, r.url, r.ready]),
    [
      ['direct', direct.url, true],
      ['named@127.0.0.1', named1.url, true],
      ['named@127.0.0.2', named2.url, true],
    ],
  );
  const tally = (who: string[]) =>
    ['direct', 'named-1', 'named-2'].map((id) => who.filter((w) => w === id).length);
  assert.deepEqual(tally(await whoAnswers(gateway, 9)), [3, 3, 3]);

  // A resolved replica failing /readyz leaves the rotation at its next check, and comes back.
  named2.readyStatus = 503;
  await until('named@127.0.0.2 out', () => !readyIds(gateway).includes('named@127.0.0.2'));
  assert.match(gateway.status().ingest.find((r) => r.id === 'named@127.0.0.2')!.reason!, /503/);
  assert.deepEqual(tally(await whoAnswers(gateway, 6)), [3, 3, 0]);
  named2.readyStatus = 200;
  await until('named@127.0.0.2 back', () => readyIds(gateway).includes('named@127.0.0.2'));

  // A resolved replica whose process is gone, still in DNS: a POST refused there moves on, body
  // and all, and the replica leaves the rotation at once.
  await named1.close();
  const body = Buffer.alloc(1024 * 1024, 3);
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${gateway.url}/v1/corpora`, { method: 'POST', body });
    assert.equal(res.status, 200);
    const answer = (await res.json()) as { replica: string; bytes: number };
    assert.notEqual(answer.replica, 'named-1');
    assert.equal(answer.bytes, body.length);
  }
  assert.equal(gateway.status().ingest.find((r) => r.id === 'named@127.0.0.1')!.ready, false);

  // An address gone from DNS leaves the pool: it gets no requests even though it answers.
  dns = async () => ['127.0.0.1'];
  await gateway.checkNow();
  assert.deepEqual(
    gateway.status().ingest.map((r) => r.id),
    ['direct', 'named@127.0.0.1'],
  );
  const seenBefore = named2.seen.length;
  assert.deepEqual(tally(await whoAnswers(gateway, 4)), [4, 0, 0]);
  assert.equal(named2.seen.length, seenBefore);

  // A failed lookup (no DNS server) keeps the members it had; a name that no longer exists
  // (ENOTFOUND: every replica stopped) takes them out.
  dns = async () => ['127.0.0.2'];
  await gateway.checkNow();
  assert.deepEqual(tally(await whoAnswers(gateway, 4)), [2, 0, 2]);
  dns = async () => Promise.reject(Object.assign(new Error('queryA EAI_AGAIN'), { code: 'EAI_AGAIN' }));
  await gateway.checkNow();
  assert.deepEqual(tally(await whoAnswers(gateway, 4)), [2, 0, 2]);
  dns = async () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
  await gateway.checkNow();
  assert.deepEqual(
    gateway.status().ingest.map((r) => r.id),
    ['direct'],
  );

  // With no replica left at all, the 503 names the service, the replicas and the empty name.
  await direct.close();
  await until('direct out', () => gateway.status().ingest.every((r) => !r.alive));
  const res = await fetch(`${gateway.url}/v1/corpora`);
  assert.equal(res.status, 503);
  const problem = (await res.json()) as { code: string; detail: string; service: string };
  assert.equal(problem.code, 'not_ready');
  assert.equal(problem.service, 'ingest');
  assert.match(problem.detail, /no ready replica of ingest; replicas: direct: connection refused; /);
  assert.match(problem.detail, new RegExp(`http://ingest\\.test:${port} resolves to no address`));
});
