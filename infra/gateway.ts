// The local gateway: one port (7070) in front of every service, routing by path prefix. It is a
// plain streaming reverse proxy (bodies and SSE pass through untouched); the route table below is
// the one place services add their prefixes.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Path prefix -> service name, longest prefix first when they overlap. */
export const GATEWAY_ROUTES: readonly { prefix: string; service: string }[] = [
  { prefix: '/v1/corpora', service: 'ingest' },
  // Import jobs; the other services keep their jobs under their own prefix.
  { prefix: '/v1/jobs', service: 'ingest' },
  { prefix: '/v1/media', service: 'ingest' },
  { prefix: '/v1/datasets', service: 'synth' },
  { prefix: '/v1/features', service: 'features' },
  { prefix: '/v1/runs', service: 'trainer' },
  { prefix: '/v1/models', service: 'serve' },
  { prefix: '/v1/chat', service: 'serve' },
  { prefix: '/v1/completions', service: 'serve' },
];

export interface Gateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

function problemBody(status: number, code: string, detail: string): string {
  return JSON.stringify({
    type: `urn:mmit:problem:${code}`,
    code,
    title: code.replace(/_/g, ' '),
    status,
    detail,
  });
}

export async function startGateway(options: {
  port: number;
  host?: string;
  /** Service name -> base URL of a running service. */
  services: Record<string, string>;
}): Promise<Gateway> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    const route = GATEWAY_ROUTES.find(
      (r) => path === r.prefix || path.startsWith(`${r.prefix}/`) || path.startsWith(`${r.prefix}?`),
    );
    const target = route ? options.services[route.service] : undefined;
    if (!target) {
      res.writeHead(404, { 'content-type': 'application/problem+json' });
      res.end(
        problemBody(
          404,
          'not_found',
          `no service serves ${path}; routes: ${GATEWAY_ROUTES.map((r) => r.prefix).join(', ')}`,
        ),
      );
      return;
    }
    const upstream = request(
      new URL(path, target),
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(502, { 'content-type': 'application/problem+json' });
      res.end(problemBody(502, 'not_ready', `${route?.service} at ${target} did not answer: ${err.message}`));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
