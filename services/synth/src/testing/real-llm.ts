// The project's own serving service as the synth `llm` endpoint in tests: a real serve service
// (createServeService, no bucket) answering with the hf-tiny Llama, behind a recording tap that
// forwards every request unchanged and keeps both bodies so tests can read what went over the
// wire. The tap is not a double: the service's answers are what the client gets.
// Limits: the tiny LM has random weights, so its replies are never the asked-for JSON; and its
// checkpoint says 512 positions, fewer than a synth prompt takes (~600-860 tokens with this
// 400-token vocabulary), so it is served from a copy whose config allows 2048 (Llama's rotary
// positions work at any length; the weights are the fixture's own).
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServeService } from '@mmit/serve-service';

export interface Exchange {
  method: string;
  path: string;
  authorization?: string;
  request: Record<string, unknown>;
  status: number;
  response: Record<string, unknown>;
}

export interface RealLlm {
  /** The tap's base URL (what the synth client is pointed at). */
  url: string;
  /** The served model's name. */
  model: string;
  /** Every request and answer that went through, in order. */
  exchanges: Exchange[];
  close(): Promise<void>;
}

/** A copy of a Llama checkpoint folder whose config allows `positions` positions. */
async function longContextCopy(source: string, positions: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mmit-synth-lm-'));
  for (const name of await readdir(source)) {
    if (name !== 'config.json') await copyFile(join(source, name), join(dir, name));
  }
  const config = JSON.parse(await readFile(join(source, 'config.json'), 'utf8'));
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({ ...config, max_position_embeddings: positions }),
  );
  return dir;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' ? value : { value };
  } catch {
    return { unparsed: text };
  }
}

export async function startRealLlm(options: {
  checkpoint: string;
  model?: string;
  apiKey?: string;
}): Promise<RealLlm> {
  const model = options.model ?? 'tiny-llama';
  const checkpoint = await longContextCopy(options.checkpoint, 2048);
  const serve = createServeService({
    env: {
      MMIT_SERVE_PORT: '0',
      MMIT_LOG_LEVEL: 'silent',
      MMIT_SERVE_BASE_MODELS: `${model}=${checkpoint}`,
      ...(options.apiKey ? { MMIT_API_KEY: options.apiKey } : {}),
    },
    bucket: null,
  });
  const running = await serve.start();

  const exchanges: Exchange[] = [];
  const tap = createServer(async (req, res) => {
    const body = await readBody(req);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    let status: number;
    let contentType: string;
    let answer: string;
    try {
      const forwarded = await fetch(`${running.url}${req.url}`, {
        method: req.method,
        headers,
        ...(body ? { body } : {}),
      });
      status = forwarded.status;
      contentType = forwarded.headers.get('content-type') ?? 'application/json';
      answer = await forwarded.text();
    } catch (err) {
      // The serve service went away (closed mid-test): say so instead of hanging the client.
      status = 502;
      contentType = 'text/plain';
      answer = `tap could not reach the serve service: ${(err as Error).message}`;
    }
    exchanges.push({
      method: req.method ?? 'GET',
      path: req.url ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      request: parseObject(body),
      status,
      response: parseObject(answer),
    });
    res.writeHead(status, { 'content-type': contentType }).end(answer);
  });
  await new Promise<void>((resolve) => tap.listen(0, '127.0.0.1', resolve));
  const { port } = tap.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    model,
    exchanges,
    async close() {
      tap.closeAllConnections();
      await new Promise<void>((resolve) => tap.close(() => resolve()));
      await running.close();
      await rm(checkpoint, { recursive: true, force: true });
    },
  };
}
