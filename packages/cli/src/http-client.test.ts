// The shared pieces the commands lean on: the SSE parser (events split across chunks, unnamed
// events, raw sentinels), error bodies in both shapes the services answer with, clientOf's URL
// precedence, and option parsing's exit code and message.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Command } from 'commander';
import { z } from 'zod';
import { clientOf } from './client.js';
import { ApiClient, ApiError, serverSentEvents } from './http-client.js';
import { parseOptions } from './options.js';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part);
}

test('serverSentEvents joins events split across chunks and keeps data unparsed', async () => {
  const seen = [];
  for await (const e of serverSentEvents(
    chunks(
      'event: job\ndata: {"a":',
      '1}\n\n: comment\n\ndata: line one\ndata: line two\n\n',
      'data: [DONE]\n\n',
    ),
  ))
    seen.push(e);
  assert.deepEqual(seen, [
    { event: 'job', data: '{"a":1}' },
    { event: 'message', data: 'line one\nline two' },
    { event: 'message', data: '[DONE]' },
  ]);
});

async function serving(status: number, body: string): Promise<{ url: string; close: () => void }> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

test('error bodies: problem+json, OpenAI shape, and plain text each give a readable message', async () => {
  const cases: [number, string, RegExp][] = [
    [
      422,
      JSON.stringify({
        title: 'invalid body',
        code: 'validation',
        detail: 'bad field',
        errors: [{ path: 'name', message: 'required' }],
      }),
      /^invalid body \(422 validation\): bad field\n {2}name: required$/,
    ],
    [
      404,
      JSON.stringify({ error: { message: 'model run-x not found', type: 'invalid_request_error' } }),
      /^404: model run-x not found$/,
    ],
    [502, 'upstream down', /^502: upstream down$/],
    [500, 'null', /^500: null$/],
  ];
  for (const [status, body, message] of cases) {
    const server = await serving(status, body);
    try {
      await assert.rejects(new ApiClient({ url: server.url }).json('/x'), (err: unknown) => {
        assert.ok(err instanceof ApiError);
        assert.equal(err.status, status);
        assert.match(err.message, message);
        return true;
      });
    } finally {
      server.close();
    }
  }
});

function program(argv: string[], service?: { option: string; env: string }): ApiClient {
  let client: ApiClient | undefined;
  const root = new Command().option('--url <url>', '', 'http://gateway:7070').option('--api-key <key>');
  root
    .command('group')
    .option('--own-url <url>')
    .action((_opts: unknown, command: Command) => {
      client = clientOf(command, service);
    });
  root.parse(['node', 'mmit', ...argv]);
  assert.ok(client);
  return client;
}

test('clientOf: the command group URL, then its environment variable, then --url', () => {
  const service = { option: 'ownUrl', env: 'MMIT_TEST_OWN_URL' };
  delete process.env.MMIT_TEST_OWN_URL;
  assert.equal(program(['group'], service).url('/v1'), 'http://gateway:7070/v1');
  assert.equal(program(['--url', 'http://other/', 'group']).url('/v1'), 'http://other/v1');
  process.env.MMIT_TEST_OWN_URL = 'http://from-env';
  try {
    assert.equal(program(['group'], service).url('/v1'), 'http://from-env/v1');
    assert.equal(program(['group', '--own-url', 'http://flag'], service).url('/v1'), 'http://flag/v1');
    assert.equal(program(['group']).url('/v1'), 'http://gateway:7070/v1', 'no service: --url only');
  } finally {
    delete process.env.MMIT_TEST_OWN_URL;
  }
});

test('parseOptions returns typed options, or prints each offending option and sets exit code 2', () => {
  const schema = z
    .object({ steps: z.coerce.number().int().positive(), a: z.string().optional(), b: z.string().optional() })
    .refine((o) => Boolean(o.a) !== Boolean(o.b), { message: 'give exactly one of --a or --b' });
  assert.deepEqual(parseOptions(schema, { steps: '3', a: 'x' }, 'mmit t'), { steps: 3, a: 'x' });
  const printed: string[] = [];
  const error = console.error;
  console.error = (line: string) => void printed.push(line);
  try {
    assert.equal(parseOptions(schema, { steps: '0', a: 'x' }, 'mmit t'), undefined);
    assert.equal(process.exitCode, 2);
    assert.equal(parseOptions(schema, { steps: '1' }, 'mmit t'), undefined);
  } finally {
    console.error = error;
    process.exitCode = 0;
  }
  assert.match(printed[0], /^mmit t: --steps: /);
  assert.equal(printed[1], 'mmit t: give exactly one of --a or --b');
});
