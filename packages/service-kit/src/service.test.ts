// The service factory over real HTTP on a random loopback port.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StorageUnavailableError } from '@mmit/storage';
import { z } from 'zod';
import { ConfigError, envVar } from './config.js';
import {
  ErrorFormats,
  type ErrorFormatter,
  InvalidPathPrefixError,
  problemJsonFormatter,
} from './error-format.js';
import { HttpError } from './errors.js';
import { createService, type RunningService, type Service } from './service.js';
import { validate } from './validate.js';

class ShelfMissingError extends Error {
  constructor(readonly shelf: string) {
    super(`shelf ${shelf} does not exist`);
  }
}

class QuotaError extends Error {
  readonly problemCode = 'payload_too_large';
}

function build(env: Record<string, string> = {}) {
  const lines: Record<string, unknown>[] = [];
  const service = createService({
    name: 'test',
    version: '1.2.3',
    defaultPort: 0,
    env: { MMIT_LOG_LEVEL: 'info', MMIT_JSON_BODY_LIMIT: '2kb', ...env },
    logDestination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  service
    .route({
      method: 'post',
      path: '/things/:shelf',
      summary: 'Put a thing on a shelf',
      request: {
        params: z.object({ shelf: z.enum(['a', 'b']) }),
        query: z.object({ copies: z.coerce.number().int().min(1).default(1) }),
        body: z.object({ name: z.string().min(1), tags: z.array(z.string()).default([]) }),
      },
      responses: { 201: { description: 'stored' } },
      handler: ({ params, query, body }) => ({
        status: 201,
        body: { shelf: params.shelf, copies: query.copies, name: body.name, tags: body.tags },
        headers: { Location: `/things/${params.shelf}/${body.name}` },
      }),
    })
    .route({
      method: 'get',
      path: '/fail/:how',
      summary: 'Fails in the way asked',
      request: { params: z.object({ how: z.string() }) },
      responses: {},
      handler: ({ params }) => {
        if (params.how === 'http') throw new HttpError('conflict', 'already there', { item: { index: 2 } });
        if (params.how === 'domain') throw new ShelfMissingError('c');
        if (params.how === 'coded') throw new QuotaError('over quota');
        if (params.how === 'storage')
          throw new StorageUnavailableError('get', 'k', 'http://s3', 3, new Error('ECONNREFUSED'));
        throw new Error('secret internals');
      },
    })
    .mapError(ShelfMissingError, (e) => new HttpError('not_found', e.message));
  service.router.get(
    '/plain',
    validate('query', z.object({ page: z.coerce.number().int().min(1) })),
    (req, res) => {
      res.json({ valid: req.valid.query });
    },
  );
  service.router.get('/slow', async (_req, res) => {
    await new Promise((r) => setTimeout(r, 300));
    res.json({ slow: true });
  });
  return { service, lines };
}

async function started(env: Record<string, string> = {}) {
  const built = build(env);
  const running = await built.service.listen();
  return { ...built, running };
}

async function json(res: Response) {
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    body: (await res.json()) as Record<string, unknown>,
  };
}

async function withService(
  fn: (ctx: { service: Service; running: RunningService; lines: Record<string, unknown>[] }) => Promise<void>,
  env: Record<string, string> = {},
) {
  const ctx = await started(env);
  try {
    await fn(ctx);
  } finally {
    await ctx.running.close();
  }
}

test('binds to loopback and answers /healthz', () =>
  withService(async ({ running }) => {
    assert.match(running.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await json(await fetch(`${running.url}/healthz`));
    assert.equal(r.status, 200);
    assert.equal(r.body.service, 'test');
    assert.equal(r.body.version, '1.2.3');
  }));

test('a typed route validates params, query and body and answers with the handler result', () =>
  withService(async ({ running }) => {
    const ok = await fetch(`${running.url}/things/a?copies=3`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'lamp' }),
    });
    assert.equal(ok.status, 201);
    assert.equal(ok.headers.get('location'), '/things/a/lamp');
    assert.deepEqual(await ok.json(), { shelf: 'a', copies: 3, name: 'lamp', tags: [] });

    const bad = await json(
      await fetch(`${running.url}/things/a`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: '', tags: 'x' }),
      }),
    );
    assert.equal(bad.status, 400);
    assert.match(bad.type, /application\/problem\+json/);
    assert.equal(bad.body.type, 'urn:mmit:problem:validation');
    const paths = (bad.body.errors as { path: string }[]).map((e) => e.path).sort();
    assert.deepEqual(paths, ['body.name', 'body.tags']);

    const badParam = await json(
      await fetch(`${running.url}/things/zzz`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }),
    );
    assert.equal(badParam.status, 400);
    assert.match(String(badParam.body.detail), /params/);
    assert.match(JSON.stringify(badParam.body.errors), /"a"|a\b/, 'the message lists the valid options');

    const badQuery = await json(
      await fetch(`${running.url}/things/a?copies=0`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'x' }),
      }),
    );
    assert.equal(badQuery.status, 400);
    assert.equal((badQuery.body.errors as { path: string }[])[0].path, 'query.copies');
  }));

test('validate() as plain middleware leaves the parsed part on req.valid or answers 400', () =>
  withService(async ({ running }) => {
    const ok = await fetch(`${running.url}/plain?page=2`);
    assert.deepEqual(await ok.json(), { valid: { page: 2 } }, 'the query string was coerced to a number');
    const bad = await json(await fetch(`${running.url}/plain?page=zero`));
    assert.equal(bad.status, 400);
    assert.equal((bad.body.errors as { path: string }[])[0].path, 'query.page');
  }));

test('unknown routes, bad JSON and oversized bodies are problems', () =>
  withService(async ({ running }) => {
    const missing = await json(await fetch(`${running.url}/nowhere?x=1`));
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'not_found');
    assert.equal(missing.body.instance, '/nowhere?x=1');

    const post = (body: string) =>
      fetch(`${running.url}/things/a`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    const malformed = await json(await post('{"name": '));
    assert.equal(malformed.status, 400);
    assert.match(String(malformed.body.detail), /not valid JSON/);

    const big = await json(await post(JSON.stringify({ name: 'x'.repeat(5000) })));
    assert.equal(big.status, 413);
    assert.equal(big.body.code, 'payload_too_large');
    assert.match(String(big.body.detail), /MMIT_JSON_BODY_LIMIT/, 'the limit names its setting');

    // 1,000 levels fit in 2 kB; the default depth limit (32) refuses it before validation walks it.
    const deep = await json(await post(`{"name":"x","tags":${'['.repeat(1000)}${']'.repeat(1000)}}`));
    assert.equal(deep.status, 400);
    assert.match(String(deep.body.detail), /deeper than 32 .*MMIT_JSON_MAX_DEPTH/);
    const shallow = await json(await post(`{"name":"x","tags":${'['.repeat(1)}${']'.repeat(1)}}`));
    assert.equal(shallow.status, 201, JSON.stringify(shallow.body));
  }));

test('errors map to problems: HttpError, mapped domain error, coded error, storage outage, unknown', () =>
  withService(async ({ running, lines }) => {
    const http = await json(await fetch(`${running.url}/fail/http`));
    assert.equal(http.status, 409);
    assert.deepEqual(http.body.item, { index: 2 });

    const domain = await json(await fetch(`${running.url}/fail/domain`));
    assert.equal(domain.status, 404);
    assert.equal(domain.body.detail, 'shelf c does not exist');

    const coded = await json(await fetch(`${running.url}/fail/coded`));
    assert.equal(coded.status, 413);

    const storageRes = await fetch(`${running.url}/fail/storage`);
    assert.equal(storageRes.headers.get('retry-after'), '5');
    const storage = await json(storageRes);
    assert.equal(storage.status, 503);
    assert.equal(storage.body.code, 'storage_unavailable');

    const unknownRes = await fetch(`${running.url}/fail/other`);
    const requestId = unknownRes.headers.get('x-request-id');
    const unknown = await json(unknownRes);
    assert.equal(unknown.status, 500);
    assert.doesNotMatch(JSON.stringify(unknown.body), /secret internals/, 'internals stay in the log');
    const logged = lines.find(
      (l) => l.reqId === requestId && l.level === 50 && JSON.stringify(l).includes('secret internals'),
    );
    assert.ok(logged, 'the 500 is logged with its request id and the real error');
  }));

class TeapotError extends Error {
  constructor(readonly brew: string) {
    super(`cannot brew ${brew}`);
  }
}

/** A made-up protocol's error body, to show a service can answer in any shape under a prefix. */
const rpcFormatter: ErrorFormatter = ({ error, http }) =>
  error instanceof TeapotError
    ? {
        status: 418,
        contentType: 'application/json',
        body: { fault: { code: 'teapot', message: error.message } },
      }
    : {
        status: http.status,
        contentType: 'application/json',
        body: { fault: { code: http.code, message: http.detail } },
        headers: { ...http.options.headers, 'x-rpc-fault': http.code },
      };

function withRpc(env: Record<string, string> = {}) {
  const built = build(env);
  built.service.formatErrors('/rpc', rpcFormatter);
  built.service.router.post('/rpc/echo', (req, res) => {
    res.json(req.body);
  });
  built.service.router.get('/rpc/brew/:what', (req) => {
    throw new TeapotError(String(req.params.what));
  });
  built.service.router.get('/rpc/known', () => {
    throw new HttpError('conflict', 'already brewing');
  });
  built.service.router.get('/rpcx', () => {
    throw new HttpError('conflict', 'not under /rpc');
  });
  return built;
}

async function withRpcService(
  fn: (url: string) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const running = await withRpc(env).service.listen();
  try {
    await fn(running.url);
  } finally {
    await running.close();
  }
}

test("formatErrors: every error under the prefix takes the chosen shape, the shared layer's included", () =>
  withRpcService(async (url) => {
    const post = (body: string) =>
      fetch(`${url}/rpc/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.deepEqual(await (await post('{"a":1}')).json(), { a: 1 }, 'the route itself works');

    const malformed = await json(await post('{"a": '));
    assert.equal(malformed.status, 400);
    assert.match(malformed.type, /^application\/json/);
    assert.equal((malformed.body.fault as { code: string }).code, 'validation');
    assert.match((malformed.body.fault as { message: string }).message, /not valid JSON/);

    const bigRes = await post(JSON.stringify({ a: 'x'.repeat(5000) }));
    assert.equal(bigRes.headers.get('x-rpc-fault'), 'payload_too_large', 'the formatter sets headers');
    const big = await json(bigRes);
    assert.equal(big.status, 413);
    assert.deepEqual(Object.keys(big.body), ['fault']);

    const missing = await json(await fetch(`${url}/rpc/nowhere`));
    assert.equal(missing.status, 404);
    assert.equal((missing.body.fault as { code: string }).code, 'not_found');

    const domain = await json(await fetch(`${url}/rpc/brew/coffee`));
    assert.equal(domain.status, 418, 'the formatter reads the thrown error itself');
    assert.deepEqual(domain.body, { fault: { code: 'teapot', message: 'cannot brew coffee' } });

    const known = await json(await fetch(`${url}/rpc/known?x=1`));
    assert.equal(known.status, 409);
    assert.equal((known.body.fault as { message: string }).message, 'already brewing');

    for (const path of ['/rpcx', '/nowhere']) {
      const other = await json(await fetch(`${url}${path}`));
      assert.match(other.type, /application\/problem\+json/, `${path} is outside /rpc`);
      assert.equal(typeof other.body.code, 'string');
    }
  }));

test('formatErrors: a missing or wrong API key under the prefix is answered in its shape, with the challenge', () =>
  withRpcService(
    async (url) => {
      for (const authorization of [undefined, 'Bearer nope-nope-nope-nope']) {
        const res = await fetch(`${url}/rpc/known`, authorization ? { headers: { authorization } } : {});
        assert.equal(res.headers.get('www-authenticate'), 'Bearer');
        const body = await json(res);
        assert.equal(body.status, 401);
        assert.equal((body.body.fault as { code: string }).code, 'unauthorized');
      }
      const outside = await json(await fetch(`${url}/fail/http`));
      assert.equal(outside.status, 401);
      assert.match(outside.type, /application\/problem\+json/);
    },
    { MMIT_API_KEY: 'k3y-k3y-k3y-k3y-k3y' },
  ));

test('ErrorFormats: whole path segments, longest prefix first, problem+json otherwise', () => {
  const formats = new ErrorFormats();
  const outer: ErrorFormatter = () => ({ status: 400, contentType: 'text/plain', body: 'outer' });
  const inner: ErrorFormatter = () => ({ status: 400, contentType: 'text/plain', body: 'inner' });
  formats.set('/api', outer);
  formats.set('/api/v2', inner);
  assert.equal(formats.forPath('/api'), outer);
  assert.equal(formats.forPath('/api/v1/x'), outer);
  assert.equal(formats.forPath('/api/v2'), inner);
  assert.equal(formats.forPath('/api/v2/models'), inner);
  assert.equal(formats.forPath('/api/v20'), outer);
  assert.equal(formats.forPath('/apis'), problemJsonFormatter);
  assert.equal(formats.forPath('/'), problemJsonFormatter);
  assert.throws(() => formats.set('api', outer), InvalidPathPrefixError);
  assert.throws(() => formats.set('/api/', outer), /must start with '\/' and not end with '\/'/);
});

test('request ids: a sane incoming id is kept and logged, anything else is replaced', () =>
  withService(async ({ running, lines }) => {
    const kept = await fetch(`${running.url}/healthz`, { headers: { 'x-request-id': 'trace-42' } });
    assert.equal(kept.headers.get('x-request-id'), 'trace-42');
    const replaced = await fetch(`${running.url}/healthz`, {
      headers: { 'x-request-id': 'bad id\twith spaces' },
    });
    assert.match(replaced.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    await new Promise((r) => setTimeout(r, 20));
    const line = lines.find((l) => l.reqId === 'trace-42' && l.msg === 'request');
    assert.ok(line);
    assert.equal(line.status, 200);
    assert.equal(line.url, '/healthz');
  }));

test('with MMIT_API_KEY, routes need the bearer key; health and metrics stay open', () =>
  withService(
    async ({ running }) => {
      const none = await fetch(`${running.url}/fail/http`);
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer');
      const wrong = await fetch(`${running.url}/fail/http`, {
        headers: { authorization: 'Bearer nope-nope-nope-nope' },
      });
      assert.equal(wrong.status, 401);
      const right = await fetch(`${running.url}/fail/http`, {
        headers: { authorization: 'Bearer k3y-k3y-k3y-k3y-k3y' },
      });
      assert.equal(right.status, 409, 'past auth, the route answers');
      const unknownRoute = await fetch(`${running.url}/nowhere`);
      assert.equal(unknownRoute.status, 401, 'no route discovery without the key');
      for (const open of ['/healthz', '/readyz', '/metrics']) {
        assert.equal((await fetch(`${running.url}${open}`)).status, 200, open);
      }
    },
    { MMIT_API_KEY: 'k3y-k3y-k3y-k3y-k3y' },
  ));

test('/readyz runs the registered checks and names the failing one, its error only in the log', async () => {
  const { service, lines } = build();
  let bucketUp = true;
  service.addReadinessCheck('bucket', async () => {
    if (!bucketUp) throw new Error('ECONNREFUSED 127.0.0.1:9000');
  });
  service.addReadinessCheck('model', async () => {});
  const running = await service.listen();
  try {
    const ready = await json(await fetch(`${running.url}/readyz`));
    assert.equal(ready.status, 200);
    assert.deepEqual(Object.keys(ready.body.checks as object).sort(), ['bucket', 'model']);
    bucketUp = false;
    const notReady = await json(await fetch(`${running.url}/readyz`));
    assert.equal(notReady.status, 503);
    assert.equal(notReady.body.code, 'not_ready');
    assert.match(String(notReady.body.detail), /failing: bucket/);
    // Unauthenticated callers learn which check fails, not where the store is.
    assert.doesNotMatch(JSON.stringify(notReady.body), /ECONNREFUSED|127\.0\.0\.1|9000/);
    assert.ok(
      lines.some((l) => l.msg === 'not ready' && JSON.stringify(l).includes('ECONNREFUSED 127.0.0.1:9000')),
    );
  } finally {
    await running.close();
  }
});

test('/metrics exposes default metrics and a request histogram labelled by route pattern', () =>
  withService(async ({ running }) => {
    await fetch(`${running.url}/fail/http`);
    await fetch(`${running.url}/fail/domain`);
    await fetch(`${running.url}/nowhere`);
    const res = await fetch(`${running.url}/metrics`);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.match(text, /process_cpu_user_seconds_total\{service="test"\}/);
    assert.match(
      text,
      /http_request_duration_seconds_count\{[^}]*route="\/fail\/:how"[^}]*status="409"[^}]*\} 1/,
    );
    assert.match(
      text,
      /http_request_duration_seconds_count\{[^}]*route="unmatched"[^}]*status="404"[^}]*\} 1/,
    );
    assert.doesNotMatch(text, /route="\/fail\/http"/, 'raw URLs never become labels');
  }));

test('the OpenAPI document lists the typed routes and the health routes', () => {
  const { service } = build();
  const doc = service.openapi.document({ title: 'test', version: '1.2.3' });
  assert.ok(doc.paths['/things/{shelf}'].post);
  assert.ok(doc.paths['/healthz'].get);
  const op = doc.paths['/things/{shelf}'].post as { parameters: { name: string }[]; requestBody: unknown };
  assert.deepEqual(
    op.parameters.map((p) => p.name),
    ['shelf', 'copies'],
  );
  assert.ok(op.requestBody);
});

test('configuration: every bad variable is reported, secrets are not echoed, the table has defaults', () => {
  assert.throws(
    () =>
      createService({
        name: 'test',
        version: '0',
        defaultPort: 0,
        env: { MMIT_TEST_PORT: 'abc', MMIT_API_KEY: 'short', MMIT_LOG_LEVEL: 'loud' },
      }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.problems.length, 3);
      assert.match(e.message, /MMIT_TEST_PORT="abc"/);
      assert.match(e.message, /MMIT_API_KEY=\(secret\)/);
      assert.doesNotMatch(e.message, /short/);
      assert.match(e.message, /MMIT_LOG_LEVEL="loud"/);
      return true;
    },
  );
  const service = createService({
    name: 'test',
    version: '0',
    defaultPort: 8100,
    env: { MMIT_WIDGETS: '7' },
    config: { widgets: envVar('MMIT_WIDGETS', z.coerce.number().default(3), 'How many widgets.') },
  });
  assert.equal(service.config.widgets, 7);
  assert.equal(service.config.port, 8100);
  assert.equal(service.config.host, '127.0.0.1');
  const table = service.describeConfig();
  assert.deepEqual(
    table.find((v) => v.name === 'MMIT_WIDGETS'),
    { name: 'MMIT_WIDGETS', default: '3', description: 'How many widgets.' },
  );
  assert.equal(table.find((v) => v.name === 'MMIT_TEST_HOST')?.default, '127.0.0.1');
  assert.equal(table.find((v) => v.name === 'MMIT_API_KEY')?.default, undefined);
});

test('close() drains in-flight requests, refuses new ones, marks not ready, then runs hooks in reverse', async () => {
  const { service } = build();
  const order: string[] = [];
  service.onShutdown(() => void order.push('first registered'));
  service.onShutdown(() => void order.push('last registered'));
  const running = await service.listen();
  const slow = fetch(`${running.url}/slow`);
  await new Promise((r) => setTimeout(r, 50));
  const closing = running.close();
  assert.equal(service.shutdownSignal.aborted, true);
  await assert.rejects(fetch(`${running.url}/healthz`), 'new connections are refused');
  const res = await slow;
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { slow: true });
  await closing;
  assert.deepEqual(order, ['last registered', 'first registered']);
  assert.equal(service.readiness.draining, true);
});

test('close() cuts requests still running after the shutdown timeout', async () => {
  const { service } = build({ MMIT_SHUTDOWN_TIMEOUT_MS: '50' });
  service.router.get('/hang', () => {});
  const running = await service.listen();
  const hanging = fetch(`${running.url}/hang`);
  await new Promise((r) => setTimeout(r, 30));
  const t0 = Date.now();
  await running.close();
  assert.ok(Date.now() - t0 < 2_000);
  await assert.rejects(hanging, 'the client sees the connection cut');
});
