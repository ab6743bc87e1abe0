// Every error under /v1 answers in OpenAI's shape, including those the shared service layer
// raises before the OpenAI routes run (API key, body size, JSON syntax); outside /v1 the service
// keeps problem+json. Checked through the official `openai` client where it can send the request,
// and with fetch for what it cannot (a body that is not JSON). No bucket and no model is needed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '@mmit/service-kit';
import OpenAI, { APIError, AuthenticationError, NotFoundError } from 'openai';
import { createServeService } from '../app.js';

const API_KEY = 'serve-test-key-0123456789';

function client(url: string, apiKey = API_KEY): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });
}

async function rejection(promise: Promise<unknown>): Promise<APIError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof APIError, `expected an APIError, got ${err}`);
    return err;
  }
  assert.fail('expected the request to fail');
}

/** The body exactly as OpenAI writes errors: one `error` object with these four fields. */
async function openAIBody(res: Response) {
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await res.json()) as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  return body.error;
}

describe("serve: errors under /v1 in OpenAI's shape", () => {
  let running: RunningService;
  let url: string;

  before(async () => {
    const serve = createServeService({
      env: {
        MMIT_SERVE_PORT: '0',
        MMIT_LOG_LEVEL: 'silent',
        MMIT_API_KEY: API_KEY,
        MMIT_SERVE_BODY_LIMIT: '64kb',
      },
      bucket: null,
    });
    running = await serve.start();
    url = running.url;
  });
  after(() => running.close());

  const post = (path: string, body: string, apiKey = API_KEY) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body,
    });

  it('a wrong or missing API key is 401 invalid_api_key, which the client raises as AuthenticationError', async () => {
    const wrong = await rejection(client(url, 'not-the-key-at-all').models.list());
    assert.ok(wrong instanceof AuthenticationError);
    assert.equal(wrong.status, 401);
    assert.equal(wrong.code, 'invalid_api_key');
    assert.equal(wrong.type, 'invalid_request_error');
    assert.match(wrong.message, /API key is wrong/);

    const missing = await fetch(`${url}/v1/chat/completions`, { method: 'POST' });
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
    const error = await openAIBody(missing);
    assert.equal(error.code, 'invalid_api_key');
    assert.match(String(error.message), /Authorization: Bearer/);

    const right = await client(url).models.list();
    assert.deepEqual(right.data, [], 'with the key the same call succeeds (no models configured)');
  });

  it('a body over the limit is 413 payload_too_large', async () => {
    const huge = 'x'.repeat(100 * 1024);
    const err = await rejection(
      client(url).chat.completions.create({ model: 'any', messages: [{ role: 'user', content: huge }] }),
    );
    assert.equal(err.status, 413);
    assert.equal(err.code, 'payload_too_large');
    assert.equal(err.type, 'invalid_request_error');
    assert.match(err.message, /exceeds the limit of 65536 bytes/);
    await openAIBody(await post('/v1/completions', JSON.stringify({ model: 'any', prompt: huge })));
  });

  it('a body that is not JSON is 400 invalid_json', async () => {
    const res = await post('/v1/chat/completions', '{"model": "any", "messages": [');
    assert.equal(res.status, 400);
    const error = await openAIBody(res);
    assert.equal(error.code, 'invalid_json');
    assert.equal(error.type, 'invalid_request_error');
    assert.equal(error.param, null);
    assert.match(String(error.message), /not valid JSON/);
  });

  it('an unknown path under /v1 is 404 unknown_url, for any method', async () => {
    const err = await rejection(client(url).get('/embeddings'));
    assert.ok(err instanceof NotFoundError);
    assert.equal(err.code, 'unknown_url');
    assert.equal(err.type, 'not_found_error');
    assert.match(err.message, /no route for GET \/v1\/embeddings/);
    const deleted = await fetch(`${url}/v1/models`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    assert.equal(deleted.status, 404);
    assert.equal((await openAIBody(deleted)).code, 'unknown_url');
  });

  it('validation and unknown models keep their OpenAI codes through the shared handler', async () => {
    const empty = await rejection(client(url).chat.completions.create({ model: 'any', messages: [] }));
    assert.equal(empty.status, 400);
    assert.equal(empty.code, 'invalid_value');
    assert.equal(empty.param, 'messages');
    const unknown = await rejection(
      client(url).chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }),
    );
    assert.equal(unknown.status, 404);
    assert.equal(unknown.code, 'model_not_found');
  });

  it('outside /v1 the service keeps problem+json', async () => {
    const res = await fetch(`${url}/v2/anything`);
    assert.equal(res.status, 401, 'the key is checked first');
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    const body = (await res.json()) as { code: string };
    assert.equal(body.code, 'unauthorized');
  });
});
