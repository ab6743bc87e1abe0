// The console server against real upstream HTTP servers: API paths reach the right service (its
// own URL, else the gateway) with method, body and key intact; event streams arrive as written; a
// dead service is a 502 naming it; other paths get the app's index.html.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createConsoleServer, type RunningConsole } from './app.js';

const API_KEY = 'console-test-key-0123456789';

interface Upstream {
  url: string;
  server: Server;
  /** Resolves the pending second SSE event. */
  release(): void;
}

async function startUpstream(name: string): Promise<Upstream> {
  let release = () => {};
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/v1/runs/r_1/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: step\ndata: {"step":1}\n\n');
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      res.end('event: step\ndata: {"step":2}\n\n');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
    res.end(
      JSON.stringify({
        name,
        method: req.method,
        url: req.url,
        authorization: req.headers.authorization ?? null,
        body: Buffer.concat(chunks).toString(),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    release: () => release(),
  };
}

let dir: string;
let trainer: Upstream;
let gateway: Upstream;
let consoleServer: RunningConsole;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmit-console-'));
  trainer = await startUpstream('trainer');
  gateway = await startUpstream('gateway');
  const dist = join(dir, 'dist');
  await mkdir(dist);
  await writeFile(join(dist, 'index.html'), '<!doctype html><title>console</title>');
  consoleServer = await createConsoleServer({
    env: {
      MMIT_CONSOLE_PORT: '0',
      MMIT_LOG_LEVEL: 'silent',
      MMIT_GATEWAY_URL: gateway.url,
      MMIT_CONSOLE_TRAINER_URL: trainer.url,
      // Nothing listens here: the serve service is "down".
      MMIT_CONSOLE_SERVE_URL: 'http://127.0.0.1:9',
    },
    distDir: dist,
  }).listen();
});

after(async () => {
  await consoleServer?.close();
  trainer?.server.close();
  gateway?.server.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const at = (path: string, init?: RequestInit) => fetch(`${consoleServer.url}${path}`, init);

test('API paths go to their service, or to the gateway when the service has no URL of its own', async () => {
  const run = await at('/api/v1/runs?limit=5', {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: '{"datasetId":"d_x"}',
  });
  assert.equal(run.status, 200);
  assert.deepEqual(await run.json(), {
    name: 'trainer',
    method: 'POST',
    url: '/v1/runs?limit=5',
    authorization: `Bearer ${API_KEY}`,
    body: '{"datasetId":"d_x"}',
  });
  const corpora = (await (await at('/api/v1/corpora/c_1/items?status=rejected')).json()) as Record<
    string,
    unknown
  >;
  assert.equal(corpora.name, 'gateway');
  assert.equal(corpora.url, '/v1/corpora/c_1/items?status=rejected');
});

test('event streams are passed on as they are written, not when they end', async () => {
  const res = await at('/api/v1/runs/r_1/events');
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const first = await reader.read();
  assert.equal(
    first.value,
    'event: step\ndata: {"step":1}\n\n',
    'the first event arrives while the stream is open',
  );
  trainer.release();
  let rest = '';
  for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value;
  assert.equal(rest, 'event: step\ndata: {"step":2}\n\n');
});

test('a service that does not answer is a 502 problem naming it; an unknown API path is a 404 listing the prefixes', async () => {
  const down = await at('/api/v1/models');
  assert.equal(down.status, 502);
  assert.equal(down.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const body = (await down.json()) as { detail: string; status: number };
  assert.equal(body.status, 502);
  assert.match(body.detail, /^serve at http:\/\/127\.0\.0\.1:9 did not answer/);
  const unknown = await at('/api/v2/nothing');
  assert.equal(unknown.status, 404);
  assert.match(
    ((await unknown.json()) as { detail: string }).detail,
    /no service serves \/v2\/nothing; API paths start with \/v1\/corpora/,
  );
});

test('any other path is the app (client-side routes), with a content security policy', async () => {
  for (const path of ['/', '/runs/r_123', '/playground?model=x']) {
    const res = await at(path);
    assert.equal(res.status, 200, path);
    assert.equal(await res.text(), '<!doctype html><title>console</title>');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  }
  assert.deepEqual(await (await at('/healthz')).json(), {
    status: 'ok',
    service: 'console',
    version: '0.1.0',
  });
});
