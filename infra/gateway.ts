// The local gateway: one port (7070) in front of every service, routing by path prefix. It is a
// plain streaming reverse proxy (bodies and SSE pass through untouched), routing by the one table
// in contracts (API_ROUTES) that the console's proxy uses too.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { API_ROUTES, routeFor } from '../packages/contracts/src/index.js';

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
    const route = routeFor(path);
    const target = route ? options.services[route.service] : undefined;
    if (!target) {
      res.writeHead(404, { 'content-type': 'application/problem+json' });
      res.end(
        problemBody(
          404,
          'not_found',
          `no service serves ${path}; routes: ${API_ROUTES.map((r) => r.prefix).join(', ')}`,
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
