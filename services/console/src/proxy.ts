// The `/api` reverse proxy: streams the request to its service and the answer back untouched
// (multipart uploads, JSON, server-sent events), so the console adds no buffering, no parsing and
// no state. An unreachable service is a 502 problem+json naming it; a client that goes away
// (a closed EventSource, a cancelled upload) closes the upstream request too.
import { type IncomingHttpHeaders, request } from 'node:http';
import { problem } from '@mmit/contracts';
import type { Logger } from '@mmit/service-kit';
import type { Request, RequestHandler, Response } from 'express';
import type { UpstreamService } from './config.js';
import { UnknownApiPathError, upstreamFor } from './upstreams.js';

export interface ProxyTargets {
  gatewayUrl: string;
  serviceUrls: Partial<Record<UpstreamService, string>>;
}

/** Connection-scoped headers that must not be forwarded (RFC 9110 section 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer']);

function forwardedHeaders(headers: IncomingHttpHeaders, upstreamHost: string): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && name !== 'host') out[name] = value;
  }
  out.host = upstreamHost;
  return out;
}

function sendProblem(res: Response, status: 404 | 502, detail: string): void {
  const body = problem(status === 404 ? 'not_found' : 'not_ready', detail);
  // A 502 is a gateway failure; the problem's code says the service was not ready to answer.
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ ...body, status }));
}

/** Express handler for `app.use('/api', ...)`: `req.url` is the path below the mount. */
export function apiProxy(targets: ProxyTargets, logger: Logger): RequestHandler {
  return (req: Request, res: Response) => {
    let upstream: ReturnType<typeof upstreamFor>;
    try {
      upstream = upstreamFor(req.url, targets.serviceUrls, targets.gatewayUrl);
    } catch (err) {
      if (err instanceof UnknownApiPathError) return sendProblem(res, 404, err.message);
      throw err;
    }
    const target = new URL(req.url, upstream.baseUrl);
    const outgoing = request(
      target,
      { method: req.method, headers: forwardedHeaders(req.headers, target.host) },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        // Event streams must reach the browser as they are written.
        res.flushHeaders();
        answer.pipe(res);
      },
    );
    outgoing.on('error', (err) => {
      logger.warn({ service: upstream.service, url: target.href, err: err.message }, 'upstream failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendProblem(res, 502, `${upstream.service} at ${upstream.baseUrl} did not answer: ${err.message}`);
    });
    res.on('close', () => {
      if (!res.writableFinished) outgoing.destroy();
    });
    req.pipe(outgoing);
  };
}
